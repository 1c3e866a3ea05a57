// Public surface of the dashboard: the System Console custom setting "Dashboard".
// Registered by webapp/src/index.tsx with
// registry.registerAdminConsoleCustomSetting('Dashboard', Dashboard, {showTitle: true}).
export {Dashboard} from './dashboard.tsx';
export type {DashboardProps} from './dashboard.tsx';
