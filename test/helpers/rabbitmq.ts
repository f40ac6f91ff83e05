// A private RabbitMQ node on its own ports, for tests that stop and start the broker
// (the shared one on 5672 is never touched). See private-services.ts.
export { privateRabbit, type PrivateService as PrivateRabbit } from './private-services';
