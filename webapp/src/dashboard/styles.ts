// The dashboard's CSS, injected once from JS: Mattermost loads only main.js, so a
// plugin cannot ship a stylesheet. Colours come from the host theme's CSS variables
// (--center-channel-color-rgb, --button-bg, ...) with light-theme fallbacks. The uPlot
// rules cover only the structure the charts need (layers, selection, legend, cursor).

const STYLE_ELEMENT_ID = 'mm-metrics-dashboard-styles';

const fg = (alpha: number): string => `rgba(var(--center-channel-color-rgb, 63, 67, 80), ${alpha})`;

export const DASHBOARD_CSS = `
.mm-dash { color: var(--center-channel-color, #3f4350); font-size: 13px; }
.mm-dash__toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 12px; }
.mm-dash__updated { color: ${fg(0.64)}; font-size: 12px; }
.mm-dash__spacer { flex: 1; }
.mm-dash__section { margin-bottom: 16px; }
.mm-dash__section-toggle { display: flex; align-items: center; gap: 6px; width: 100%; padding: 6px 0; border: 0;
  background: none; color: inherit; font-size: 15px; font-weight: 600; text-align: left; cursor: pointer; }
.mm-dash__section-toggle:focus-visible, .mm-trp button:focus-visible, .mm-trp input:focus-visible {
  outline: 2px solid var(--button-bg, #1c58d9); outline-offset: 1px; }
.mm-dash__chevron { display: inline-block; transition: transform .15s; }
.mm-dash__chevron--open { transform: rotate(90deg); }
.mm-dash__grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
@media (min-width: 1400px) { .mm-dash__grid { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
@media (max-width: 900px) { .mm-dash__grid { grid-template-columns: minmax(0, 1fr); } }
.mm-dash__panel { border: 1px solid ${fg(0.16)}; border-radius: 4px; padding: 8px 10px;
  background: var(--center-channel-bg, #fff); min-width: 0; }
.mm-dash__panel-title { margin: 0 0 6px; font-size: 13px; font-weight: 600; }
.mm-dash__panel-error { color: var(--error-text, #d24b4e); font-size: 12px; margin: 4px 0; word-break: break-word; }
.mm-dash__empty { height: 160px; display: flex; align-items: center; justify-content: center; color: ${fg(0.56)};
  text-align: center; padding: 0 8px; }
.mm-dash__empty--error { color: var(--error-text, #d24b4e); }
.mm-dash__chart { position: relative; min-height: 160px; }
.mm-dash__tooltip { position: absolute; z-index: 10; pointer-events: none; min-width: 260px; max-width: 420px;
  padding: 6px 8px; border-radius: 4px; background: rgba(20, 22, 28, .92); color: #fff; font-size: 12px;
  box-shadow: 0 4px 12px rgba(0, 0, 0, .25); }
.mm-dash__tooltip-time { opacity: .75; margin-bottom: 4px; }
.mm-dash__tooltip-row { display: flex; gap: 6px; align-items: center; white-space: nowrap; }
.mm-dash__tooltip-swatch { width: 10px; height: 2px; flex: none; }
.mm-dash__tooltip-label { overflow: hidden; text-overflow: ellipsis; flex: 1; }
.mm-dash__tooltip-value { font-variant-numeric: tabular-nums; }

.mm-dash .uplot { font-family: inherit; line-height: 1.5; width: min-content; }
.mm-dash .uplot canvas { display: block; position: relative; width: 100%; height: 100%; }
.mm-dash .u-wrap { position: relative; user-select: none; }
.mm-dash .u-over, .mm-dash .u-under { position: absolute; }
.mm-dash .u-under { overflow: hidden; }
.mm-dash .u-axis { position: absolute; }
.mm-dash .u-select { position: absolute; pointer-events: none; background: ${fg(0.12)}; }
.mm-dash .u-cursor-x, .mm-dash .u-cursor-y { position: absolute; left: 0; top: 0; pointer-events: none;
  will-change: transform; }
.mm-dash .u-cursor-x { height: 100%; border-right: 1px dashed ${fg(0.4)}; }
.mm-dash .u-cursor-y { width: 100%; border-bottom: 1px dashed ${fg(0.4)}; }
.mm-dash .u-cursor-pt { position: absolute; top: 0; left: 0; border-radius: 50%; border: 0 solid;
  pointer-events: none; will-change: transform; background-clip: padding-box !important; }
.mm-dash .u-hz .u-cursor-y, .mm-dash .u-off { display: none; }
.mm-dash .u-legend { font-size: 11px; margin: 4px auto 0; text-align: left; max-height: 84px; overflow-y: auto; }
.mm-dash .u-inline { display: block; }
.mm-dash .u-inline tr { display: inline-block; margin-right: 10px; }
.mm-dash .u-legend th { font-weight: 400; padding: 0; cursor: pointer; }
.mm-dash .u-legend th > * { vertical-align: middle; display: inline-block; }
.mm-dash .u-legend .u-marker { width: 10px; height: 3px; margin-right: 4px; background-clip: padding-box !important; }
.mm-dash .u-inline.u-live th::after { content: ":"; vertical-align: middle; }
.mm-dash .u-legend td { display: none; }
.mm-dash .u-legend .u-off > * { opacity: .35; }
.mm-dash .u-legend tr.u-off { display: inline-block; }

.mm-trp { position: relative; display: inline-block; }
.mm-trp__button { display: inline-flex; align-items: center; gap: 6px; padding: 6px 10px; border-radius: 4px;
  border: 1px solid ${fg(0.16)}; background: var(--center-channel-bg, #fff); color: inherit; cursor: pointer; }
.mm-trp__popover { position: absolute; z-index: 20; top: calc(100% + 4px); left: 0; display: flex; flex-wrap: wrap;
  gap: 16px; padding: 12px; width: max-content; max-width: calc(100vw - 32px); border: 1px solid ${fg(0.16)}; border-radius: 4px;
  background: var(--center-channel-bg, #fff); box-shadow: 0 8px 24px rgba(0, 0, 0, .12); }
.mm-trp__absolute { flex: 1; display: flex; flex-direction: column; gap: 6px; }
.mm-trp__absolute label { font-weight: 600; margin: 0; }
.mm-trp__absolute input, .mm-trp__search { padding: 4px 6px; border: 1px solid ${fg(0.24)}; border-radius: 4px;
  background: var(--center-channel-bg, #fff); color: inherit; }
.mm-trp__field-error { color: var(--error-text, #d24b4e); font-size: 12px; }
.mm-trp__heading { font-weight: 600; margin: 0 0 4px; font-size: 13px; }
.mm-trp__quick { width: 200px; display: flex; flex-direction: column; gap: 6px;
  border-left: 1px solid ${fg(0.12)}; padding-left: 16px; }
.mm-trp__list { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow-y: auto; }
.mm-trp__option { display: block; width: 100%; text-align: left; padding: 4px 6px; border: 0; border-radius: 4px;
  background: none; color: inherit; cursor: pointer; }
.mm-trp__option:hover { background: ${fg(0.08)}; }
.mm-trp__option--active { background: rgba(var(--button-bg-rgb, 28, 88, 217), .12); color: var(--button-bg, #1c58d9);
  font-weight: 600; }
`;

/** Adds the dashboard's <style> to the document once. */
export function ensureDashboardStyles(doc: Document = document): void {
  if (doc.getElementById(STYLE_ELEMENT_ID)) return;
  const el = doc.createElement('style');
  el.id = STYLE_ELEMENT_ID;
  el.textContent = DASHBOARD_CSS;
  doc.head.appendChild(el);
}
