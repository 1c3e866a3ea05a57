import {fireEvent, screen} from '@testing-library/react';
import React from 'react';
import {describe, expect, it, vi} from 'vitest';

import {renderWithIntl} from './testing/render.tsx';
import {parseDatetimeLocal, quickRange} from './time_range.ts';
import type {TimeRange} from './time_range.ts';
import {TimeRangePicker} from './time_range_picker.tsx';

const NOW = parseDatetimeLocal('2026-03-01T12:00')!;

function setup(value: TimeRange = quickRange('1h')) {
  const onChange = vi.fn();
  renderWithIntl(<TimeRangePicker value={value} onChange={onChange} now={() => NOW}/>);
  const button = screen.getByRole('button', {name: /Time range: Last 1 hour/});
  return {onChange, button};
}

describe('TimeRangePicker', () => {
  it('opens on the button, lists the quick ranges with the current one marked, and picks one', () => {
    const {onChange, button} = setup();
    expect(button.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    expect(screen.getByRole('dialog')).toBeTruthy();
    expect(screen.getByRole('button', {name: 'Last 1 hour'}).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', {name: 'Last 7 days'}));
    expect(onChange).toHaveBeenCalledWith({kind: 'relative', key: '7d', seconds: 604_800, stepSeconds: 1800});
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(button);
  });

  it('filters the quick ranges', () => {
    const {button} = setup();
    fireEvent.click(button);
    fireEvent.change(screen.getByRole('searchbox', {name: 'Search quick ranges'}), {target: {value: 'days'}});
    const options = screen.getAllByRole('listitem').map((li) => li.textContent);
    expect(options).toEqual(['Last 2 days', 'Last 7 days', 'Last 30 days']);
  });

  it('starts From/To at the current window and focuses From', () => {
    const {button} = setup();
    fireEvent.click(button);
    const from = screen.getByLabelText('From') as HTMLInputElement;
    expect(from.value).toBe('2026-03-01T11:00');
    expect((screen.getByLabelText('To') as HTMLInputElement).value).toBe('2026-03-01T12:00');
    expect(document.activeElement).toBe(from);
  });

  it('says "Invalid date" for a bad date and keeps the popover open', () => {
    const {onChange, button} = setup();
    fireEvent.click(button);
    fireEvent.change(screen.getByLabelText('To'), {target: {value: '2026-02-30T10:00'}});
    fireEvent.click(screen.getByRole('button', {name: 'Apply time range'}));
    expect(screen.getByRole('alert').textContent).toBe('Invalid date');
    expect(screen.getByLabelText('To').getAttribute('aria-invalid')).toBe('true');
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByRole('dialog')).toBeTruthy();
  });

  it('says "From" must be before "To"', () => {
    const {onChange, button} = setup();
    fireEvent.click(button);
    fireEvent.change(screen.getByLabelText('From'), {target: {value: '2026-03-01T13:00'}});
    fireEvent.click(screen.getByRole('button', {name: 'Apply time range'}));
    expect(screen.getByRole('alert').textContent).toBe('"From" must be before "To"');
    expect(onChange).not.toHaveBeenCalled();
  });

  it('applies an absolute range with the step for its length', () => {
    const {onChange, button} = setup();
    fireEvent.click(button);
    fireEvent.change(screen.getByLabelText('From'), {target: {value: '2026-02-27T12:00'}});
    fireEvent.submit(screen.getByLabelText('From').closest('form')!);
    expect(onChange).toHaveBeenCalledWith({
      kind: 'absolute', start: parseDatetimeLocal('2026-02-27T12:00'), end: NOW, stepSeconds: 1800,
    });
  });

  it('closes on Escape with focus back on the button, and on a click outside', () => {
    const {button} = setup();
    fireEvent.click(button);
    fireEvent.keyDown(screen.getByLabelText('From'), {key: 'Escape'});
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(button);
    fireEvent.click(button);
    fireEvent.mouseDown(document.body);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('moves through the quick ranges with the arrow keys', () => {
    const {button} = setup();
    fireEvent.click(button);
    const search = screen.getByRole('searchbox');
    fireEvent.keyDown(search, {key: 'ArrowDown'});
    expect(document.activeElement?.textContent).toBe('Last 5 minutes');
    fireEvent.keyDown(document.activeElement!, {key: 'ArrowDown'});
    expect(document.activeElement?.textContent).toBe('Last 15 minutes');
    fireEvent.keyDown(document.activeElement!, {key: 'ArrowUp'});
    expect(document.activeElement?.textContent).toBe('Last 5 minutes');
  });

  it('labels an absolute range by its local start and end', () => {
    const onChange = vi.fn();
    renderWithIntl(<TimeRangePicker value={{kind: 'absolute', start: NOW - 600, end: NOW, stepSeconds: 60}} onChange={onChange}/>);
    expect(screen.getByRole('button', {name: 'Time range: 2026-03-01 11:50 to 2026-03-01 12:00'})).toBeTruthy();
  });
});
