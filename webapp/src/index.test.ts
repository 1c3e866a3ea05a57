import {describe, expect, it, vi} from 'vitest';

import en from '../i18n/en.json';

describe('plugin registration', () => {
  it('registers with the host and adds Dashboard, Status, Stats and Dumps as admin console settings with titles', async () => {
    const registerPlugin = vi.fn();
    vi.stubGlobal('registerPlugin', registerPlugin);
    const {default: Plugin} = await import('./index.tsx');
    expect(registerPlugin).toHaveBeenCalledOnce();
    const [id, plugin] = registerPlugin.mock.calls[0] as [string, InstanceType<typeof Plugin>];
    expect(id).toBe('com.mattermost.mattermost-plugin-metrics');
    expect(plugin).toBeInstanceOf(Plugin);

    const registry = {registerAdminConsoleCustomSetting: vi.fn(), registerTranslations: vi.fn()};
    plugin.initialize(registry, {getState: () => ({}), dispatch: (a: unknown) => a});
    expect(registry.registerAdminConsoleCustomSetting.mock.calls.map(([key, component, options]) => [key, typeof component, options])).toEqual([
      ['Dashboard', 'function', {showTitle: true}],
      ['Status', 'function', {showTitle: true}],
      ['Stats', 'function', {showTitle: true}],
      ['Dumps', 'function', {showTitle: true}],
    ]);
    const getTranslations = registry.registerTranslations.mock.calls[0][0] as (locale: string) => unknown;
    expect(getTranslations('en')).toBe(en);
    expect(document.getElementById('mattermost-plugin-metrics-styles')?.textContent).toContain('--button-bg');

    // A host without registerTranslations (older servers) is fine too.
    expect(() => plugin.initialize({registerAdminConsoleCustomSetting: vi.fn()}, {getState: () => ({}), dispatch: (a: unknown) => a})).not.toThrow();
  });
});
