export {changedSettings, defaultSettings, parseSettings, requireValidSettings, settingSpecs, SettingsError, type Settings} from './settings.ts';
