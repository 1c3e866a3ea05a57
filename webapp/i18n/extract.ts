// Rewrites webapp/i18n/en.json from the message descriptors in webapp/src/messages.ts and
// the dashboard's strings (webapp/src/dashboard/en.json, kept equal to its code by
// src/dashboard/en.test.tsx), so the host gets every string through registerTranslations:
//   node --import tsx webapp/i18n/extract.ts
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import dashboard from '../src/dashboard/en.json' with {type: 'json'};
import * as messages from '../src/messages.ts';

export function englishMessages(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of Object.values(messages)) {
    for (const d of Object.values(group)) {
      if (d.id in out) throw new Error(`message id ${d.id} is used twice`);
      out[d.id] = String(d.defaultMessage);
    }
  }
  for (const [id, text] of Object.entries(dashboard as Record<string, string>)) {
    if (id in out) throw new Error(`message id ${id} is used twice`);
    out[id] = text;
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'en.json');
  fs.writeFileSync(file, `${JSON.stringify(englishMessages(), null, 2)}\n`);
  console.log(`[i18n] ${path.relative(process.cwd(), file)}: ${Object.keys(englishMessages()).length} messages`);
}
