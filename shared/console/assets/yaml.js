// toYAML writes a JSON value as block YAML, so a rules document stored as
// JSON opens in the editor in the same form as docs/scoring.md shows it.
// It covers what JSON can hold (objects, arrays, strings, numbers, booleans,
// null); key order is kept. Strings are left plain only when YAML would read
// them back as the same string; otherwise they are double-quoted with JSON's
// escapes, which YAML's double-quoted style accepts.

export function toYAML(value) {
  if (!isCollection(value) || isEmpty(value)) return flow(value) + '\n';
  return lines(value, 0).join('\n') + '\n';
}

function isCollection(v) { return v !== null && typeof v === 'object'; }
function isEmpty(v) { return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0; }

// Short arrays of scalars stay on one line ("in: [US, CA]"), as people write
// them.
function inline(v) {
  return Array.isArray(v) && v.every((x) => !isCollection(x)) &&
    v.map((x) => scalar(x, true)).join(', ').length <= 100;
}

function lines(value, indent) {
  const pad = ' '.repeat(indent);
  const out = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item) && !isEmpty(item) && !inline(item)) {
        // "- " then the item's first line; its other lines indented by 2.
        const sub = lines(item, indent + 2);
        out.push(pad + '- ' + sub[0].slice(indent + 2), ...sub.slice(1));
      } else {
        out.push(pad + '- ' + flow(item));
      }
    }
    return out;
  }
  for (const [k, v] of idFirst(Object.entries(value))) {
    const key = scalar(k);
    if (isCollection(v) && !isEmpty(v) && !inline(v)) {
      out.push(pad + key + ':');
      out.push(...lines(v, indent + 2));
    } else {
      out.push(pad + key + ': ' + flow(v));
    }
  }
  return out;
}

// idFirst puts an "id" key first, as people write rules ("- id: ..."),
// whatever order the stored JSON has; the rest keep theirs.
function idFirst(entries) {
  const i = entries.findIndex(([k]) => k === 'id');
  return i <= 0 ? entries : [entries[i], ...entries.slice(0, i), ...entries.slice(i + 1)];
}

function flow(v) {
  if (Array.isArray(v)) return '[' + v.map((x) => scalar(x, true)).join(', ') + ']';
  if (isCollection(v)) return '{}';
  return scalar(v);
}

// Words YAML 1.1 or 1.2 would read as something other than a string.
const SPECIAL = /^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|\.nan|\.NaN|\.NAN|[-+]?\.(inf|Inf|INF)|<<)$/;
// Anything that looks like a number, a date or a time.
const NUMERIC = /^[-+]?(\.?[0-9]|0[xXoObB])|^[0-9]{1,4}[-:]/;

// scalar writes one value; inFlow is true inside [a, b], where commas and
// brackets end a plain scalar.
export function scalar(v, inFlow = false) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  const str = String(v);
  return plainSafe(str, inFlow) ? str : JSON.stringify(str);
}

function plainSafe(str, inFlow) {
  if (str === '' || str.trim() !== str) return false;
  if (SPECIAL.test(str) || NUMERIC.test(str)) return false;
  // Indicators that start a non-plain node, or characters that end one.
  if (/^[-?:,\[\]{}#&*!|>'"%@`]/.test(str)) return false;
  if (/: |:$| #|[\u0000-\u001f\u007f\u2028\u2029\ufeff]/.test(str)) return false;
  return !(inFlow && /[,\[\]{}]/.test(str));
}
