// Brook's public API for programs and tests that embed a broker.
export { type Broker, type StartBrokerOptions, startBroker } from './broker.js';
