// hashicorp/go-plugin (netrpc protocol), plugin side. Nothing outside bridge/ imports this.
export {brokerAcceptTimeoutMs, BrokerError, MuxBroker} from './broker.ts';
export {checkCookie, mattermostHandshake, notAPluginMessage, NotLaunchedAsPluginError, type HandshakeConfig} from './handshake.ts';
export {serve, type PluginFactory, type RunningPlugin, type ServeOptions} from './server.ts';
