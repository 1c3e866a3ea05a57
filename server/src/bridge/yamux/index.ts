// Public surface of our yamux (wire-compatible with hashicorp/yamux). See SPEC.md.

export {defaultConfig, verifyConfig, type YamuxConfig} from './config.ts';
export {FrameDecoder, type Frame, type FrameDecoderOptions} from './decoder.ts';
export {
  ConfigError,
  ConnectionError,
  DuplicateStreamError,
  GoAwayError,
  InvalidFrameError,
  InvalidStreamIdError,
  isProtocolError,
  KeepAliveTimeoutError,
  PingTimeoutError,
  ProtocolError,
  ReceiveWindowExceededError,
  RemoteGoAwayError,
  SessionClosedError,
  StreamClosedError,
  StreamOpenTimeoutError,
  StreamResetError,
  StreamsExhaustedError,
  UnexpectedFlagError,
  WriteTimeoutError,
  YamuxError,
} from './errors.ts';
export {
  decodeHeader,
  encodeHeader,
  Flag,
  FrameType,
  GoAwayCode,
  HEADER_LENGTH,
  INITIAL_STREAM_WINDOW,
  PROTOCOL_VERSION,
  stringifyHeader,
  type FrameHeader,
} from './frame.ts';
export {Session, type Role} from './session.ts';
export {Stream} from './stream.ts';
