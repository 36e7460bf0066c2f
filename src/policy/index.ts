/**
 * policy/: processing rules (SPEC §2). Pure: no I/O anywhere in this folder. The message runner calls, per
 * message: `groupRecipients(rules, envelope)` → for each group `enabledModules(group.rule)` (what to scan) →
 * `decide(group.rule, findings, { dmarcPolicy })` → a Verdict for disposition. See each file's header.
 */
export * from './types.ts';
export { matchSender, matchRecipient, parseCriterion, criterionProblem, compileCriteria, type Criterion } from './match.ts';
export { ruleFor, groupRecipients, sortRules, enabledModules } from './select.ts';
export { decide } from './decide.ts';
export {
  defaultRules, shippedModules, shippedBlocks, shippedOptions, defaultContentOptions, defaultAuthOptions, fallbackDefault, PRESET_DESCRIPTIONS,
  type ContentOptions, type AuthOptions,
} from './presets.ts';
export {
  validateRuleDoc, mergeRuleInput, newRuleDoc, ruleDocSchema, blockStatuses, RuleValidationError, MODULE_ACTIONS, READ_ONLY_KEYS, MAX_CRITERIA,
  type RuleDoc,
} from './schema.ts';
export { compileRegex, RegexError, type SafeRegex } from './regex.ts';
