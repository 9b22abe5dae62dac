#!/usr/bin/env node
// Registers tsx so napkin and the user's napkin.config.ts load as TypeScript, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
