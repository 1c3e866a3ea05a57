// Renders dashboard components the way the System Console does: inside an English
// IntlProvider with no translations loaded (so every defaultMessage shows).
import {render} from '@testing-library/react';
import type {RenderResult} from '@testing-library/react';
import React from 'react';
import {IntlProvider} from 'react-intl';

export function renderWithIntl(ui: React.ReactElement): RenderResult {
  return render(ui, {
    wrapper: ({children}) => (
      <IntlProvider locale='en' defaultLocale='en' messages={{}} onError={() => undefined}>{children}</IntlProvider>
    ),
  });
}
