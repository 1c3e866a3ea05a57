// Mattermost renders admin console settings inside its own IntlProvider (and picks up the
// translations registered with registerTranslations). A host page without one still works:
// the components then provide English themselves.
import React, {useContext} from 'react';
import {IntlContext, IntlProvider} from 'react-intl';

import en from '../i18n/en.json';

export const translations: Record<string, Record<string, string>> = {en};

export function getTranslations(locale: string): Record<string, string> {
  return translations[locale] ?? translations[locale.split(/[-_]/)[0]] ?? {};
}

export function WithIntl({children}: {children: React.ReactNode}): React.ReactElement {
  const host = useContext(IntlContext);
  if (host) return <>{children}</>;
  return (
    <IntlProvider locale='en' defaultLocale='en' messages={en}>
      {children}
    </IntlProvider>
  );
}
