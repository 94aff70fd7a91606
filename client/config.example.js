// An example of the file `make client-config` writes as config.js (git-ignored): the values of
// a deployed stack (its outputs) or of the local cloud (client-config/local.json).
module.exports = {
  accountId: '1234567890123456',
  region: 'cn-hangzhou',
  serviceName: 'miniapp-todo', // the db function's service (what the client invokes)
  sessionServiceName: 'miniapp-todo-session', // the session function's service (its URL)
  sessionFunctionName: 'session',
  dbFunctionName: 'db',
  // https://{accountId}.{region}.fc.aliyuncs.com in the cloud; the local cloud's FC endpoint locally
  endpoint: 'https://1234567890123456.cn-hangzhou.fc.aliyuncs.com'
};
