// Go's net/rpc over one byte stream. Nothing outside bridge/ imports this.
export {EmptyStruct, RpcConnectionClosed, type Typed} from './codec.ts';
export {RpcClient, RpcServerError} from './client.ts';
export {emptyReply, RpcError, RpcServer, type RpcHandler} from './server.ts';
