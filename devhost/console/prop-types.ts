// window.PropTypes for plugins that use it. The prop-types package is not a dependency here;
// its production build is this: every validator a no-op, with the same shape.

type Validator = ((...args: unknown[]) => null) & {isRequired: (...args: unknown[]) => null};

function validator(): Validator {
  const check = (() => null) as unknown as Validator;
  check.isRequired = () => null;
  return check;
}

const simple = ['any', 'array', 'bigint', 'bool', 'func', 'number', 'object', 'string', 'symbol', 'node', 'element', 'elementType'];
const factories = ['arrayOf', 'instanceOf', 'objectOf', 'oneOf', 'oneOfType', 'shape', 'exact'];

export function propTypesShim(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of simple) out[name] = validator();
  for (const name of factories) out[name] = () => validator();
  out.checkPropTypes = () => undefined;
  out.resetWarningCache = () => undefined;
  out.PropTypes = out;
  return out;
}
