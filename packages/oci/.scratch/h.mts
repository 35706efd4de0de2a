import { startRegistry } from '@trivy-mirror/fixtures';
console.log('start');
const reg = await startRegistry();
console.log('up', reg.host);
await reg.stop();
console.log('stopped');
