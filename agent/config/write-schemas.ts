import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { projectRoot } from '../paths.ts';
import { configJsonSchema } from './json-schema.ts';

const file = resolve(projectRoot, 'config/schemas/sling.config.schema.json');
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
