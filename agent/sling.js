#!/usr/bin/env node
// The package bin: registers tsx so the TypeScript sources run as they are, from any working directory.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
await main(process.argv);
