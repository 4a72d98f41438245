// DOM building without HTML parsing. Everything the API returns reaches the
// page as a text node or an attribute value, never as markup: there is no
// innerHTML anywhere in the console (a Go test greps for it).

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an HTML element. props sets attributes, except:
//   class   -> className
//   on<ev>  -> addEventListener(ev, fn)
//   text    -> textContent
// children are nodes, strings (added as text), arrays, or null/undefined/false
// (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, ...children);
}

// s builds an SVG element the same way (createElementNS).
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  return append(el, ...children);
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

// append adds children to el as h does (unlike Element.append, which would
// write null as the text "null").
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// link is an in-console link to a hash route; the parts are URI-encoded so
// an id from the API cannot escape its path segment.
export function link(text, ...parts) {
  return h('a', { href: '#/' + parts.map(encodeURIComponent).join('/') }, text);
}
