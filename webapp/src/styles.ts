// The bundle is one main.js, so its CSS is injected once at start-up. Colours come from the
// Mattermost theme's CSS variables (with fallbacks for a host page that sets none).
export const css = `
.mmm { color: var(--center-channel-color, #3f4350); font-size: 14px; line-height: 20px; }
.mmm h4 { font-size: 14px; font-weight: 600; margin: 16px 0 8px; }
.mmm-box { background: var(--center-channel-bg, #fff); border: 1px solid rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.16); border-radius: 4px; padding: 12px 16px; margin-bottom: 12px; }
.mmm-table-wrap { overflow-x: auto; }
.mmm-table { width: 100%; border-collapse: collapse; }
.mmm-table th, .mmm-table td { text-align: left; padding: 6px 8px; border-bottom: 1px solid rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.08); vertical-align: top; }
.mmm-table th { font-weight: 600; color: rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.72); white-space: nowrap; }
.mmm-nowrap { white-space: nowrap; }
.mmm-muted { color: rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.64); }
.mmm-mono { font-family: Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.mmm-grid { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
.mmm-grid dt { font-weight: 600; }
.mmm-grid dd { margin: 0; }
.mmm-toolbar { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; align-items: center; }
.mmm-btn { display: inline-flex; align-items: center; gap: 4px; border: 1px solid transparent; border-radius: 4px; padding: 6px 14px; font-size: 14px; font-weight: 600; cursor: pointer; background: rgba(var(--button-bg-rgb, 28, 88, 217), 0.08); color: var(--button-bg, #1c58d9); text-decoration: none; }
.mmm-btn:hover { background: rgba(var(--button-bg-rgb, 28, 88, 217), 0.16); text-decoration: none; }
.mmm-btn:focus-visible, .mmm a:focus-visible, .mmm input:focus-visible { outline: 2px solid var(--button-bg, #1c58d9); outline-offset: 2px; }
.mmm-btn[disabled] { opacity: 0.48; cursor: not-allowed; }
.mmm-btn-primary { background: var(--button-bg, #1c58d9); color: var(--button-color, #fff); }
.mmm-btn-primary:hover { background: var(--button-bg, #1c58d9); color: var(--button-color, #fff); filter: brightness(0.92); }
.mmm-btn-danger { background: var(--error-text, #d24b4e); color: #fff; }
.mmm-btn-danger:hover { background: var(--error-text, #d24b4e); color: #fff; filter: brightness(0.92); }
.mmm-actions { display: flex; flex-wrap: wrap; gap: 6px; }
.mmm-btn-small { padding: 2px 8px; font-size: 12px; }
.mmm-badge { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.mmm-ok { background: rgba(var(--online-indicator-rgb, 6, 214, 160), 0.16); color: var(--online-indicator, #06d6a0); }
.mmm-bad { background: rgba(var(--error-text-color-rgb, 210, 75, 78), 0.12); color: var(--error-text, #d24b4e); }
.mmm-wait { background: rgba(var(--away-indicator-rgb, 255, 188, 31), 0.2); color: var(--center-channel-color, #3f4350); }
.mmm-neutral { background: rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.08); }
.mmm-error-text { color: var(--error-text, #d24b4e); }
.mmm-banner { display: flex; gap: 12px; align-items: flex-start; justify-content: space-between; border-radius: 4px; padding: 8px 12px; margin-bottom: 12px; border: 1px solid var(--error-text, #d24b4e); background: rgba(var(--error-text-color-rgb, 210, 75, 78), 0.08); color: var(--error-text, #d24b4e); }
.mmm-warning { border-radius: 4px; padding: 8px 12px; margin-bottom: 8px; border: 1px solid var(--away-indicator, #ffbc1f); background: rgba(var(--away-indicator-rgb, 255, 188, 31), 0.12); }
.mmm-progress { width: 120px; height: 6px; border-radius: 3px; background: rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.12); overflow: hidden; margin-top: 4px; }
.mmm-progress > div { height: 100%; background: var(--button-bg, #1c58d9); transition: width 0.3s; }
.mmm-backdrop { position: fixed; inset: 0; background: rgba(0, 0, 0, 0.5); display: flex; align-items: center; justify-content: center; z-index: 1050; }
.mmm-dialog { background: var(--center-channel-bg, #fff); color: var(--center-channel-color, #3f4350); border-radius: 8px; box-shadow: 0 20px 32px rgba(0, 0, 0, 0.12); width: min(480px, calc(100vw - 32px)); max-height: calc(100vh - 32px); overflow: auto; padding: 24px; }
.mmm-dialog h2 { font-size: 20px; font-weight: 600; margin: 0 0 16px; }
.mmm-dialog-actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 20px; }
.mmm-field { display: flex; flex-direction: column; gap: 4px; margin-bottom: 12px; }
.mmm-field label { font-weight: 600; }
.mmm-field input { padding: 6px 8px; border-radius: 4px; border: 1px solid rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.32); background: var(--center-channel-bg, #fff); color: var(--center-channel-color, #3f4350); font-size: 14px; }
.mmm-field input[aria-invalid='true'] { border-color: var(--error-text, #d24b4e); }
.mmm-presets { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 16px; }
.mmm-presets .mmm-btn[aria-pressed='true'] { background: var(--button-bg, #1c58d9); color: var(--button-color, #fff); }
`;

export function ensureStyles(doc: Document = document): void {
  if (doc.getElementById('mattermost-plugin-metrics-styles')) return;
  const style = doc.createElement('style');
  style.id = 'mattermost-plugin-metrics-styles';
  style.textContent = css;
  doc.head.appendChild(style);
}
