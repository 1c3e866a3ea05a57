import React from 'react';
import {FormattedMessage} from 'react-intl';

import {common} from '../messages.ts';

export function ErrorBanner({message, onDismiss}: {message: string; onDismiss?: () => void}): React.ReactElement {
  return (
    <div className='mmm-banner' role='alert' data-testid='metrics-error'>
      <span>
        <FormattedMessage {...common.errorPrefix} values={{message}} />
      </span>
      {onDismiss && (
        <button type='button' className='mmm-btn mmm-btn-small' onClick={onDismiss}>
          <FormattedMessage {...common.dismiss} />
        </button>
      )}
    </div>
  );
}

export function Loading(): React.ReactElement {
  return (
    <p className='mmm-muted' role='status' data-testid='metrics-loading'>
      <FormattedMessage {...common.loading} />
    </p>
  );
}
