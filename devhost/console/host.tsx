// The dev host's stand-in for the Mattermost web app, as far as a plugin's System Console page
// needs it. Bundled by devhost/console.ts (esbuild, production React) and loaded by the page
// before the plugin's main.js:
//  1. the host globals of webapp/channels/src/plugins/export.ts (React, ReactDOM, Redux,
//     ReactRedux, ReactIntl, PropTypes);
//  2. window.registerPlugin(id, plugin) → plugin.initialize(registry, store), with a registry
//     that keeps what the console uses (admin console custom settings, reducers,
//     translations, websocket handlers) and accepts every other method as a no-op;
//  3. the plugin's settings page drawn like SchemaAdminSettings does: header, each
//     settings_schema entry in order (custom ones with the registered component, inside the
//     store Provider and an IntlProvider), footer, and a Save that goes through the dev host's
//     config save (ConfigurationWillBeSaved, config.json, OnConfigurationChange).
import React from 'react';
import ReactDOM from 'react-dom';
import {createRoot} from 'react-dom/client';
import * as ReactIntl from 'react-intl';
import * as ReactRedux from 'react-redux';
import * as Redux from 'redux';

import {propTypesShim} from './prop-types.ts';

interface SchemaSetting {
  key: string;
  display_name?: string;
  type?: string;
  help_text?: string;
  placeholder?: string;
  default?: unknown;
  options?: Array<{display_name: string; value: string}>;
  secret?: boolean;
}

interface PluginInfo {
  id: string;
  name: string;
  version: string;
  description: string;
  state: string;
  user: string;
  serverVersion: string;
  settingsSchema: {header?: string; footer?: string; settings?: SchemaSetting[]};
  /** Lower-cased keys, schema defaults overlaid with the saved values. */
  settings: Record<string, unknown>;
}

interface CustomSettingProps {
  id: string;
  label: string;
  helpText: string;
  value: unknown;
  disabled: boolean;
  config: unknown;
  license: unknown;
  setByEnv: boolean;
  onChange: (id: string, value: unknown) => void;
  setSaveNeeded: () => void;
  registerSaveAction: (action: SaveAction) => void;
  unRegisterSaveAction: (action: SaveAction) => void;
  cancelSubmit: () => void;
  showConfirm: boolean;
}

type SaveAction = () => Promise<{error?: {message?: string}} | undefined> | {error?: {message?: string}} | undefined;

interface CustomSetting {
  component: React.ComponentType<CustomSettingProps>;
  showTitle: boolean;
}

interface Registered {
  customSettings: Map<string, CustomSetting>;
  reducers: Map<string, Redux.Reducer>;
  translations: Array<(locale: string) => Record<string, string> | Promise<Record<string, string>>>;
  websocketHandlers: Map<string, Array<(msg: unknown) => void>>;
}

declare global {
  interface Window {
    React: unknown;
    ReactDOM: unknown;
    Redux: unknown;
    ReactRedux: unknown;
    ReactIntl: unknown;
    PropTypes: unknown;
    basename: string;
    registerPlugin: (id: string, plugin: {initialize?: (registry: unknown, store: unknown) => unknown; uninitialize?: () => void}) => void;
    /** For tests and curious people: what the plugin registered. */
    devhost: {registered: Map<string, Registered>; store: Redux.Store};
  }
}

window.React = React;
window.ReactDOM = ReactDOM;
window.Redux = Redux;
window.ReactRedux = ReactRedux;
window.ReactIntl = ReactIntl;
window.PropTypes = propTypesShim();
window.basename = '';

const pluginId = document.body.dataset.pluginId ?? '';
const registered = new Map<string, Registered>();
let nextId = 1;

// ------------------------------------------------------------------ the store
// The parts of Mattermost's state a console component may select; plugin reducers live at
// state['plugins-<id>'] as in the web app.

function baseState(info?: PluginInfo): Record<string, unknown> {
  const userId = info?.user === 'member' ? 'devhostmember0000000000000' : 'devhostadmin00000000000000';
  return {
    entities: {
      general: {
        config: {SiteURL: window.location.origin, Version: info?.serverVersion ?? '', BuildNumber: 'dev', DiagnosticsEnabled: 'false'},
        license: {IsLicensed: 'true', Metrics: 'true', Cluster: 'true'},
        serverVersion: info?.serverVersion ?? '',
      },
      users: {
        currentUserId: userId,
        profiles: {[userId]: {id: userId, username: info?.user ?? 'admin', roles: info?.user === 'member' ? 'system_user' : 'system_admin system_user', locale: 'en'}},
      },
      admin: {config: {PluginSettings: {Plugins: {[pluginId]: info?.settings ?? {}}}}},
      preferences: {myPreferences: {}},
      plugins: {plugins: info ? {[info.id]: {id: info.id, name: info.name, version: info.version}} : {}},
    },
    views: {},
  };
}

let hostState = baseState();
const hostReducer: Redux.Reducer = (state = hostState, action: Redux.UnknownAction) => (action.type === 'DEVHOST_STATE' ? (action.state as typeof hostState) : state);

function rootReducer(): Redux.Reducer {
  const pluginReducers: Record<string, Redux.Reducer> = {};
  for (const [id, r] of registered) {
    if (r.reducers.size === 0) continue;
    const list = [...r.reducers.values()];
    pluginReducers[`plugins-${id}`] = (state: unknown, action: Redux.UnknownAction) => list.reduce((s, reducer) => reducer(s, action), state);
  }
  const combined = Object.keys(pluginReducers).length > 0 ? Redux.combineReducers(pluginReducers) : undefined;
  return (state: Record<string, unknown> | undefined, action: Redux.UnknownAction) => {
    const host = hostReducer(state, action) as Record<string, unknown>;
    if (!combined) return host;
    const pluginPart: Record<string, unknown> = {};
    for (const key of Object.keys(pluginReducers)) pluginPart[key] = state?.[key];
    return {...host, ...combined(pluginPart as never, action)};
  };
}

const store = Redux.createStore(rootReducer());
window.devhost = {registered, store};

// -------------------------------------------------------------- the registry

function registryFor(id: string): Registered & {api: unknown} {
  const r: Registered = {customSettings: new Map(), reducers: new Map(), translations: [], websocketHandlers: new Map()};
  registered.set(id, r);
  const known: Record<string, (...args: any[]) => unknown> = {
    registerAdminConsoleCustomSetting(key: string, component: CustomSetting['component'], options?: {showTitle?: boolean}) {
      r.customSettings.set(String(key).toLowerCase(), {component, showTitle: Boolean(options?.showTitle)});
    },
    registerReducer(reducer: Redux.Reducer) {
      r.reducers.set('reducer', reducer);
      store.replaceReducer(rootReducer());
    },
    registerTranslations(get: Registered['translations'][number]) {
      r.translations.push(get);
    },
    registerWebSocketEventHandler(event: string, handler: (msg: unknown) => void) {
      const list = r.websocketHandlers.get(event) ?? [];
      list.push(handler);
      r.websocketHandlers.set(event, list);
    },
    unregisterWebSocketEventHandler(event: string) {
      r.websocketHandlers.delete(event);
    },
    registerAdminConsolePlugin() {
      // Rewrites the console's definition; this console has only the plugin's page.
    },
  };
  // Every other PluginRegistry method (channel header buttons, post types, …) is accepted and
  // ignored, returning an id as the real ones do.
  const api = new Proxy(known, {
    get: (target, prop) => {
      if (typeof prop !== 'string' || prop === 'then' || prop === 'toJSON') return undefined; // not a thenable
      return prop in target ? target[prop] : () => `devhost_${nextId++}`;
    },
  });
  return {...r, api};
}

const registrations: Array<Promise<void>> = [];
window.registerPlugin = (id, plugin) => {
  const r = registryFor(id);
  registrations.push(
    Promise.resolve()
      .then(() => plugin.initialize?.(r.api, store))
      .then(() => undefined),
  );
};

// ------------------------------------------------------------------ the page

async function fetchJSON<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, {credentials: 'include', ...init});
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) throw new Error((body as {error?: string} | undefined)?.error ?? `${response.status} ${text.slice(0, 200)}`);
  return body as T;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

function settingKey(id: string, key: string): string {
  return `PluginSettings.Plugins.${id}.${key.toLowerCase()}`;
}

function Setting(props: {label: string; inputId: string; helpText?: string; children: React.ReactNode; name?: string}) {
  return (
    <div className='form-group' data-setting={props.name}>
      <label className='control-label col-sm-4' htmlFor={props.inputId}>
        {props.label}
      </label>
      <div className='col-sm-8'>
        {props.children}
        {props.helpText ? <div className='help-text'>{props.helpText}</div> : null}
      </div>
    </div>
  );
}

function SettingInput(props: {setting: SchemaSetting; id: string; value: unknown; onChange: (value: unknown) => void}) {
  const {setting, id, value, onChange} = props;
  const type = setting.type ?? 'text';
  switch (type) {
    case 'bool':
      return (
        <div className='radio-group'>
          {[true, false].map((v) => (
            <label key={String(v)} className='radio-inline'>
              <input type='radio' name={id} value={String(v)} checked={value === v || value === String(v)} onChange={() => onChange(v)} />
              {v ? ' True' : ' False'}
            </label>
          ))}
        </div>
      );
    case 'dropdown':
      return (
        <select id={id} className='form-control' value={String(value ?? '')} onChange={(e) => onChange(e.target.value)}>
          {(setting.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.display_name}
            </option>
          ))}
        </select>
      );
    case 'radio':
      return (
        <div className='radio-group'>
          {(setting.options ?? []).map((o) => (
            <label key={o.value} className='radio'>
              <input type='radio' name={id} value={o.value} checked={String(value) === o.value} onChange={() => onChange(o.value)} /> {o.display_name}
            </label>
          ))}
        </div>
      );
    case 'longtext':
      return <textarea id={id} className='form-control' rows={5} value={String(value ?? '')} placeholder={setting.placeholder} onChange={(e) => onChange(e.target.value)} />;
    case 'number':
      return <input id={id} className='form-control' type='number' value={value === undefined || value === null ? '' : String(value)} placeholder={setting.placeholder} onChange={(e) => onChange(e.target.value === '' ? '' : Number(e.target.value))} />;
    default:
      return <input id={id} className='form-control' type={setting.secret ? 'password' : 'text'} value={String(value ?? '')} placeholder={setting.placeholder} onChange={(e) => onChange(e.target.value)} />;
  }
}

function SettingsPage(props: {info: PluginInfo; reg: Registered | undefined; reload: () => Promise<PluginInfo>}) {
  const {reg} = props;
  const [info, setInfo] = React.useState(props.info);
  const [values, setValues] = React.useState<Record<string, unknown>>(props.info.settings);
  const [custom, setCustom] = React.useState<Record<string, unknown>>({});
  const [saveNeeded, setSaveNeeded] = React.useState(false);
  const [saving, setSaving] = React.useState(false);
  const [serverError, setServerError] = React.useState('');
  const [saved, setSaved] = React.useState(false);
  const saveActions = React.useRef(new Set<SaveAction>());

  const schema = info.settingsSchema;
  const onCustomChange = React.useCallback((id: string, value: unknown) => {
    setCustom((c) => ({...c, [id]: value}));
    setSaveNeeded(true);
    setSaved(false);
  }, []);
  const customProps = React.useMemo(
    () => ({
      setSaveNeeded: () => {
        setSaveNeeded(true);
        setSaved(false);
      },
      registerSaveAction: (a: SaveAction) => saveActions.current.add(a),
      unRegisterSaveAction: (a: SaveAction) => saveActions.current.delete(a),
      cancelSubmit: () => setSaving(false),
    }),
    [],
  );

  const save = async (): Promise<void> => {
    setSaving(true);
    setServerError('');
    setSaved(false);
    try {
      for (const action of saveActions.current) {
        const result = await action();
        if (result?.error) throw new Error(result.error.message ?? 'a setting could not be saved');
      }
      const settings: Record<string, unknown> = {...values};
      for (const [id, value] of Object.entries(custom)) settings[id.slice(id.lastIndexOf('.') + 1)] = value;
      await fetchJSON('/api/devhost/plugin/settings', {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({settings})});
      const next = await props.reload();
      setInfo(next);
      setValues(next.settings);
      setSaveNeeded(false);
      setSaved(true);
    } catch (err) {
      setServerError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  const hostConfig = (store.getState() as {entities: {admin: {config: unknown}; general: {license: unknown}}}).entities;
  return (
    <div className='admin-console__wrapper'>
      <div className='admin-console__content'>
        {schema.header ? (
          <div className='banner' data-testid='devhost-settings-header'>
            <div className='banner__content'>{schema.header}</div>
          </div>
        ) : null}
        <div className='form-horizontal'>
          {(schema.settings ?? []).map((s) => {
            const id = settingKey(info.id, s.key);
            if (s.type === 'custom') {
              const c = reg?.customSettings.get(s.key.toLowerCase());
              if (!c) {
                return (
                  <div key={s.key} className='form-group devhost-missing' data-setting={s.key}>
                    <div className='col-sm-4 control-label'>{s.display_name}</div>
                    <div className='col-sm-8 help-text'>Custom setting: the plugin registered no component for "{s.key}".</div>
                  </div>
                );
              }
              const Component = c.component;
              const element = (
                <Component
                  id={id}
                  label={s.display_name ?? s.key}
                  helpText={s.help_text ?? ''}
                  value={custom[id] ?? values[s.key.toLowerCase()] ?? ''}
                  disabled={false}
                  config={hostConfig.admin.config}
                  license={hostConfig.general.license}
                  setByEnv={false}
                  onChange={onCustomChange}
                  showConfirm={false}
                  {...customProps}
                />
              );
              return (
                <div key={s.key} data-setting={s.key} className='devhost-custom'>
                  {c.showTitle ? (
                    <Setting label={s.display_name ?? s.key} inputId={id} helpText={s.help_text}>
                      {element}
                    </Setting>
                  ) : (
                    element
                  )}
                </div>
              );
            }
            return (
              <Setting key={s.key} label={s.display_name ?? s.key} inputId={id} helpText={s.help_text} name={s.key}>
                <SettingInput
                  setting={s}
                  id={id}
                  value={values[s.key.toLowerCase()]}
                  onChange={(v) => {
                    setValues((old) => ({...old, [s.key.toLowerCase()]: v}));
                    setSaveNeeded(true);
                    setSaved(false);
                  }}
                />
              </Setting>
            );
          })}
        </div>
        {schema.footer ? <div className='banner banner--footer'>{schema.footer}</div> : null}
      </div>
      <div className='admin-console-save'>
        <button type='button' className='btn btn-primary' data-testid='devhost-save' disabled={!saveNeeded || saving} onClick={() => void save()}>
          {saving ? 'Saving…' : 'Save'}
        </button>
        {serverError ? (
          <span className='error-message' role='alert' data-testid='devhost-save-error'>
            {serverError}
          </span>
        ) : null}
        {saved ? (
          <span className='saved-message' data-testid='devhost-saved'>
            Saved
          </span>
        ) : null}
      </div>
    </div>
  );
}

class Boundary extends React.Component<{children: React.ReactNode}, {error?: Error}> {
  override state: {error?: Error} = {};
  static getDerivedStateFromError(error: Error) {
    return {error};
  }
  override render() {
    if (this.state.error) {
      return (
        <div className='devhost-error' role='alert'>
          The plugin's settings page crashed: {this.state.error.message}
        </div>
      );
    }
    return this.props.children;
  }
}

async function translationsFor(reg: Registered | undefined, locale: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const get of reg?.translations ?? []) Object.assign(out, await get(locale));
  return out;
}

async function main(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  const showError = (message: string) =>
    root.render(
      <div className='devhost-error' role='alert' data-testid='devhost-error'>
        {message}
      </div>,
    );
  let info: PluginInfo;
  try {
    info = await fetchJSON<PluginInfo>('/api/devhost/plugin');
  } catch (err) {
    showError(`The dev host did not answer: ${(err as Error).message}`);
    return;
  }
  hostState = baseState(info);
  store.dispatch({type: 'DEVHOST_STATE', state: hostState});
  document.title = `${info.name} - System Console - Mattermost dev host`;
  try {
    await loadScript(`/static/plugins/${info.id}/main.js`);
    await Promise.all(registrations);
  } catch (err) {
    showError(`The plugin's webapp did not load: ${(err as Error).message}. Build it with: node webapp/build.mjs`);
    return;
  }
  const reg = registered.get(info.id);
  const messages = await translationsFor(reg, 'en');
  const reload = async (): Promise<PluginInfo> => {
    const next = await fetchJSON<PluginInfo>('/api/devhost/plugin');
    hostState = baseState(next);
    store.dispatch({type: 'DEVHOST_STATE', state: hostState});
    return next;
  };
  root.render(
    <ReactRedux.Provider store={store}>
      <ReactIntl.IntlProvider locale='en' defaultLocale='en' messages={messages}>
        <Boundary>
          <SettingsPage info={info} reg={reg} reload={reload} />
        </Boundary>
      </ReactIntl.IntlProvider>
    </ReactRedux.Provider>,
  );
  document.body.dataset.ready = 'true';
}

void main();
