// Time-range picker: a button showing the current range; its popover has an absolute
// From/To form on the left and a filterable quick-range list on the right. Keyboard:
// Enter/Space opens, Escape closes and gives focus back to the button, Tab moves through
// the fields, ArrowUp/ArrowDown move through the quick ranges.
import React, {useEffect, useId, useRef, useState} from 'react';
import {useIntl} from 'react-intl';

import {QUICK_RANGES, absoluteRange, formatLocal, toDatetimeLocal, validateAbsolute} from './time_range.ts';
import type {TimeRange, QuickRange} from './time_range.ts';

export interface TimeRangePickerProps {
  value: TimeRange;
  onChange: (range: TimeRange) => void;
  /** For the initial From/To of a relative range (unix seconds). */
  now?: () => number;
}

export function useRangeLabel(): (range: TimeRange) => string {
  const intl = useIntl();
  return (range) => {
    if (range.kind === 'relative') {
      const q = QUICK_RANGES.find((r) => r.key === range.key);
      return q ? intl.formatMessage({id: `dashboard.range.${q.key}`, defaultMessage: q.label}) : range.key;
    }
    return intl.formatMessage(
      {id: 'dashboard.range.absolute', defaultMessage: '{from} to {to}'},
      {from: formatLocal(range.start), to: formatLocal(range.end)},
    );
  };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function TimeRangePicker({value, onChange, now = nowSeconds}: TimeRangePickerProps): React.ReactElement {
  const intl = useIntl();
  const rangeLabel = useRangeLabel();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<{field: 'from' | 'to'; text: string} | null>(null);
  const [filter, setFilter] = useState('');
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const fromRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const popoverId = useId();
  const fromId = useId();
  const toId = useId();

  const openPopover = (): void => {
    const win = value.kind === 'absolute' ? value : {start: now() - value.seconds, end: now()};
    setFrom(toDatetimeLocal(win.start));
    setTo(toDatetimeLocal(win.end));
    setError(null);
    setFilter('');
    setOpen(true);
  };

  const close = (returnFocus: boolean): void => {
    setOpen(false);
    if (returnFocus) buttonRef.current?.focus();
  };

  useEffect(() => {
    if (!open) return undefined;
    fromRef.current?.focus();
    const onPointerDown = (e: MouseEvent): void => {
      if (rootRef.current && !rootRef.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onPointerDown);
    return () => document.removeEventListener('mousedown', onPointerDown);
  }, [open]);

  const apply = (): void => {
    const v = validateAbsolute(from, to);
    if (!v.ok) {
      const text = v.problem === 'invalid' ?
        intl.formatMessage({id: 'dashboard.picker.invalidDate', defaultMessage: 'Invalid date'}) :
        intl.formatMessage({id: 'dashboard.picker.fromBeforeTo', defaultMessage: '"From" must be before "To"'});
      setError({field: v.field, text});
      return;
    }
    onChange(absoluteRange(v.start, v.end));
    close(true);
  };

  const pickQuick = (q: QuickRange): void => {
    onChange({kind: 'relative', key: q.key, seconds: q.seconds, stepSeconds: q.stepSeconds});
    close(true);
  };

  const quickLabel = (q: QuickRange): string => intl.formatMessage({id: `dashboard.range.${q.key}`, defaultMessage: q.label});
  const needle = filter.trim().toLowerCase();
  const visible = QUICK_RANGES.filter((q) => needle === '' || quickLabel(q).toLowerCase().includes(needle));

  const onListKeyDown = (e: React.KeyboardEvent): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = Array.from(listRef.current?.querySelectorAll('button') ?? []);
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const next = e.key === 'ArrowDown' ? Math.min(buttons.length - 1, at + 1) : Math.max(0, at - 1);
    buttons[next]?.focus();
    e.preventDefault();
  };

  const onPopoverKeyDown = (e: React.KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      close(true);
    }
  };

  const current = rangeLabel(value);
  return (
    <div className='mm-trp' ref={rootRef}>
      <button
        type='button'
        ref={buttonRef}
        className='mm-trp__button'
        aria-haspopup='dialog'
        aria-expanded={open}
        aria-controls={open ? popoverId : undefined}
        aria-label={intl.formatMessage({id: 'dashboard.picker.button', defaultMessage: 'Time range: {range}'}, {range: current})}
        onClick={() => (open ? close(false) : openPopover())}
      >
        <svg width='14' height='14' viewBox='0 0 16 16' aria-hidden='true' focusable='false'>
          <circle cx='8' cy='8' r='6.5' fill='none' stroke='currentColor' strokeWidth='1.5'/>
          <path d='M8 4.5V8l2.5 1.5' fill='none' stroke='currentColor' strokeWidth='1.5' strokeLinecap='round'/>
        </svg>
        <span>{current}</span>
        <span aria-hidden='true'>{'▾'}</span>
      </button>
      {open && (
        <div
          id={popoverId}
          className='mm-trp__popover'
          role='dialog'
          aria-label={intl.formatMessage({id: 'dashboard.picker.dialog', defaultMessage: 'Choose a time range'})}
          onKeyDown={onPopoverKeyDown}
        >
          <form
            className='mm-trp__absolute'
            noValidate={true}
            onSubmit={(e) => {
              e.preventDefault();
              apply();
            }}
          >
            <p className='mm-trp__heading'>
              {intl.formatMessage({id: 'dashboard.picker.absolute', defaultMessage: 'Absolute time range'})}
            </p>
            <label htmlFor={fromId}>{intl.formatMessage({id: 'dashboard.picker.from', defaultMessage: 'From'})}</label>
            <input
              id={fromId}
              ref={fromRef}
              type='datetime-local'
              value={from}
              aria-invalid={error?.field === 'from'}
              onChange={(e) => {
                setFrom(e.target.value);
                setError(null);
              }}
            />
            {error?.field === 'from' && <span className='mm-trp__field-error' role='alert'>{error.text}</span>}
            <label htmlFor={toId}>{intl.formatMessage({id: 'dashboard.picker.to', defaultMessage: 'To'})}</label>
            <input
              id={toId}
              type='datetime-local'
              value={to}
              aria-invalid={error?.field === 'to'}
              onChange={(e) => {
                setTo(e.target.value);
                setError(null);
              }}
            />
            {error?.field === 'to' && <span className='mm-trp__field-error' role='alert'>{error.text}</span>}
            <div>
              <button type='submit' className='btn btn-primary btn-sm'>
                {intl.formatMessage({id: 'dashboard.picker.apply', defaultMessage: 'Apply time range'})}
              </button>
            </div>
          </form>
          <div className='mm-trp__quick'>
            <input
              type='search'
              className='mm-trp__search'
              value={filter}
              placeholder={intl.formatMessage({id: 'dashboard.picker.search', defaultMessage: 'Search quick ranges'})}
              aria-label={intl.formatMessage({id: 'dashboard.picker.search', defaultMessage: 'Search quick ranges'})}
              onChange={(e) => setFilter(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'ArrowDown') {
                  listRef.current?.querySelector('button')?.focus();
                  e.preventDefault();
                }
              }}
            />
            <ul className='mm-trp__list' ref={listRef} onKeyDown={onListKeyDown}>
              {visible.map((q) => {
                const active = value.kind === 'relative' && value.key === q.key;
                return (
                  <li key={q.key}>
                    <button
                      type='button'
                      className={active ? 'mm-trp__option mm-trp__option--active' : 'mm-trp__option'}
                      aria-pressed={active}
                      onClick={() => pickQuick(q)}
                    >
                      {quickLabel(q)}
                    </button>
                  </li>
                );
              })}
            </ul>
          </div>
        </div>
      )}
    </div>
  );
}
