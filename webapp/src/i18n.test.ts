import {createIntl} from 'react-intl';
import {describe, expect, it} from 'vitest';

import en from '../i18n/en.json';
import {englishMessages} from '../i18n/extract.ts';
import {getTranslations} from './intl.tsx';

describe('i18n', () => {
  it('en.json holds exactly the English texts of messages.ts (node --import tsx webapp/i18n/extract.ts)', () => {
    expect(en).toEqual(englishMessages());
  });

  it('every message formats in English without errors', () => {
    const errors: unknown[] = [];
    const intl = createIntl({locale: 'en', messages: en, onError: (e) => errors.push(e)});
    const values = {
      age: '1 min', node: 'n', total: '1 MB', blocks: 2, blockBytes: '1 MB', walBytes: '1 MB', dir: 'd', series: 1, samples: 2, bytes: '1 MB', dumps: 1,
      dumpBytes: '1 kB', store: 's', error: 'e', count: 3, duration: 5, problem: 'p', percent: 0.5, from: 'a', to: 'b', range: 'r', zone: 'UTC', days: 31,
      message: 'm', reason: 'x', time: '12:00:00',
    };
    for (const id of Object.keys(en)) expect(intl.formatMessage({id}, values), id).not.toBe(id);
    expect(errors).toEqual([]);
  });

  it('hands the host English for en and en-US, nothing for other locales', () => {
    expect(getTranslations('en')).toBe(en);
    expect(getTranslations('en-US')).toBe(en);
    expect(getTranslations('de')).toEqual({});
  });
});
