// A modal dialog: rendered on document.body, focus moves in and stays in (Tab wraps), Esc
// closes, focus returns to where it was on close.
import React, {useEffect, useId, useRef} from 'react';
import {createPortal} from 'react-dom';

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: React.ReactNode;
  onClose: () => void;
  children: React.ReactNode;
  testId?: string;
  /** The element to focus first (default: the first focusable one). */
  initialFocus?: React.RefObject<HTMLElement | null>;
  role?: 'dialog' | 'alertdialog';
}

export function Dialog({title, onClose, children, testId, initialFocus, role = 'dialog'}: DialogProps): React.ReactElement {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  useEffect(() => {
    onCloseRef.current = onClose;
  });

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = initialFocus?.current ?? ref.current?.querySelector<HTMLElement>(focusable) ?? ref.current;
    first?.focus();
    return () => {
      if (previous && document.contains(previous)) previous.focus();
    };
    // Focus moves in once, when the dialog opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onKeyDown = (e: React.KeyboardEvent<HTMLDivElement>): void => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      e.preventDefault();
      onCloseRef.current();
      return;
    }
    if (e.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(focusable)];
    if (items.length === 0) {
      e.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    if (e.shiftKey && (active === first || !ref.current.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !ref.current.contains(active))) {
      e.preventDefault();
      first.focus();
    }
  };

  return createPortal(
    <div
      className='mmm mmm-backdrop'
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onCloseRef.current();
      }}
    >
      <div ref={ref} className='mmm-dialog' role={role} aria-modal='true' aria-labelledby={titleId} tabIndex={-1} data-testid={testId} onKeyDown={onKeyDown}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>,
    document.body,
  );
}

export interface ConfirmDialogProps {
  title: React.ReactNode;
  body: React.ReactNode;
  confirmLabel: React.ReactNode;
  cancelLabel: React.ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog({title, body, confirmLabel, cancelLabel, onConfirm, onCancel}: ConfirmDialogProps): React.ReactElement {
  const cancelRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog title={title} onClose={onCancel} testId='confirm-dialog' initialFocus={cancelRef} role='alertdialog'>
      <p>{body}</p>
      <div className='mmm-dialog-actions'>
        <button ref={cancelRef} type='button' className='mmm-btn btn btn-tertiary' data-testid='confirm-cancel' onClick={onCancel}>
          {cancelLabel}
        </button>
        <button type='button' className='mmm-btn mmm-btn-danger btn btn-danger' data-testid='confirm-ok' onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
