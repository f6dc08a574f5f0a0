import { ModelshipError } from '../errors.js';
import { runAction } from './runner.js';

await runAction(async () => {
  throw new ModelshipError('NOT_IMPLEMENTED', 'The deploy action is not available in this build yet.');
});
