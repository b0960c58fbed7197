#!/usr/bin/env node
// The `kuvert` command for `npx kuvert …`: the CLI is TypeScript, run through tsx (as
// `npm start` does), so register tsx's loader in this process and run the real entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
