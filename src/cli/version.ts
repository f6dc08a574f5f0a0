import { notImplemented } from './command.js';

export const command = notImplemented('version');
