// A BcryptPool worker: runs bcrypt comparisons off the main thread. bcryptjs is JavaScript, and a
// cost-10 check holds its thread for ~70 ms; on the main thread that stalls every other request.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface BcryptTask {
  id: number;
  password: string;
  hash: string;
}

parentPort?.on('message', (task: BcryptTask) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(task.password, task.hash);
  } catch {
    // a malformed hash matches nothing
  }
  parentPort?.postMessage({ id: task.id, ok });
});
