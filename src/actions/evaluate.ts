import { ModelshipError } from '../errors.js';
import { runAction } from './runner.js';

await runAction(async () => {
  throw new ModelshipError('NOT_IMPLEMENTED', 'The evaluate action is not available in this build yet.');
});
