// lazyjson: simdjson's On-Demand API behind the C functions of lazyjson.h. Compiled as C++
// (simdjson is a C++ library); nothing here calls Lua, so no Lua error crosses these frames.
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "lazyjson.h"

using namespace simdjson;

static_assert(TRK_LAZY_PADDING >= SIMDJSON_PADDING, "simdjson reads this far past a text");
static_assert(offsetof(trk_lazy_member, vlen) == TRK_LAZY_NUMBER_AT + 4
              && offsetof(trk_lazy_member, type) >= TRK_LAZY_NUMBER_AT + sizeof(double),
              "a number member's 8 bytes are value and vlen");

// One parser a thread, reused: its buffers grow to the largest text it was given. On-Demand
// does not refuse a text nested deeper than its parser's depth (development builds assert):
// walk() refuses one deeper than cjson decodes, before this depth is reached.
static ondemand::parser &parser() {
  static thread_local ondemand::parser p;
  static thread_local bool ready = false;
  if (!ready) ready = !p.allocate(4096, TRK_JSON_DEPTH + 2);
  return p;
}

static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A token as simdjson hands it out runs on to the next structural character: the whitespace
// after it is not the value's.
static std::string_view trimmed(std::string_view t) {
  while (!t.empty() && space(t.back())) t.remove_suffix(1);
  return t;
}

// Past the `close` ('}' or ']') that ends a container whose last byte read so far is before p;
// NULL when another byte is there: On-Demand ends a container by depth alone, so a ']' that
// closes an object (or a '}' an array) would pass, and cjson would refuse the text later.
static const char *closed(const char *p, char close) {
  while (space(*p)) p++;
  return *p == close ? p + 1 : nullptr;
}

template <typename T> static bool grow(T *&p, size_t n, size_t &cap) {
  if (n < cap) return true;
  size_t c = cap ? cap * 2 : 512;
  void *q = std::realloc(p, c * sizeof *p);
  if (!q) return false;
  p = static_cast<T *>(q);
  cap = c;
  return true;
}

// A key that holds an escape (q: where the raw key stops) must hold a valid one (On-Demand compares keys raw and checks nothing).
static bool key_ok(ondemand::field &field, const char *q) {
  std::string_view unescaped;
  return *q != '\\' || !field.unescaped_key().get(unescaped);
}

// Checks value v of type t, and all it holds, as a full decoder would, and sets *end past its
// text. On-Demand checks only what it is asked to read, and skips the rest on the brackets
// alone; cjson, which decodes a nested value where a script reads it, would raise there. A page
// this refuses is decoded whole by cjson, which says what is wrong with it. A container's
// depth counts as cjson counts it (the page's object is 1): no deeper than TRK_JSON_DEPTH.
static bool walk(ondemand::value &v, ondemand::json_type t, int depth, const char **end) {
  std::string_view tok = trimmed(v.raw_json_token());
  const char *last = tok.data() + 1;       // the end of what was read: past '{' or '[', a value
  if ((t == ondemand::json_type::object || t == ondemand::json_type::array) && depth > TRK_JSON_DEPTH)
    return false;
  switch (t) {
    case ondemand::json_type::object: {
      ondemand::object o;
      if (v.get_object().get(o)) return false;
      for (auto member : o) {
        ondemand::field field;
        ondemand::json_type ft;
        if (std::move(member).get(field)) return false;
        const char *k = field.key().raw(), *q = k;
        while (*q != '"' && *q != '\\') q++;
        ondemand::value &fv = field.value();
        if (!key_ok(field, q) || fv.type().get(ft) || !walk(fv, ft, depth + 1, &last)) return false;
      }
      return (*end = closed(last, '}')) != nullptr;
    }
    case ondemand::json_type::array: {
      ondemand::array a;
      if (v.get_array().get(a)) return false;
      for (auto element : a) {
        ondemand::value ev;
        ondemand::json_type et;
        if (element.get(ev) || ev.type().get(et) || !walk(ev, et, depth + 1, &last)) return false;
      }
      return (*end = closed(last, ']')) != nullptr;
    }
    case ondemand::json_type::string: {   // read, so that On-Demand checks what follows it
      std::string_view unescaped;
      ondemand::raw_json_string raw;
      if (std::memchr(tok.data(), '\\', tok.size()) ? v.get_string().get(unescaped)
                                                     : v.get_raw_json_string().get(raw))
        return false;
      break;
    }
    case ondemand::json_type::number: {
      double d;
      if (v.get_double().get(d)) return false;
      break;
    }
    case ondemand::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      break;
    }
    default: {
      bool null;
      if (v.is_null().get(null) || !null) return false;
      break;
    }
  }
  *end = tok.data() + tok.size();
  return true;
}

// Each member of object o (at depth, whose text starts at open, its element's at base) into
// out, INNER for `details`'s, every value checked (walk); *end is set past the object's
// closing brace. false when simdjson refuses it or memory ran out.
static bool members(ondemand::object o, int depth, const char *open, const char *base,
                    uint8_t inner, trk_lazy_list *out, trk_lazy_element *el, const char **end) {
  const char *last = open + 1;             // the end of what was read: past '{', or a value
  bool details = false;
  for (auto member : o) {
    ondemand::field field;
    if (std::move(member).get(field)) return false;
    const char *k = field.key().raw(), *q = k;
    while (*q != '"' && *q != '\\') q++;
    if (*q == '\\') el->odd = 1;         // looked up raw, a key must be as it reads
    if (!key_ok(field, q)) return false;
    ondemand::value &v = field.value();
    ondemand::json_type t;
    if (v.type().get(t)) return false;
    // the member is written where it goes (not built here and copied: that stalls on the copy)
    if (!grow(out->members, out->nmembers, out->mcap)) return false;
    size_t at = out->nmembers++;
    trk_lazy_member *m = &out->members[at];
    m->key = static_cast<uint32_t>(k - base);
    m->klen = static_cast<uint32_t>(q - k);
    m->flags = inner;
    const char *vs = v.raw_json_token().data(), *ve;
    if (!inner && t == ondemand::json_type::object && q - k == 7 && !std::memcmp(k, "details", 7)) {
      if (details) el->odd = 1;            // a second one: the last wins, as cjson reads it
      details = true;
      ondemand::object d;                  // its own entry, then its members after it
      if (v.get_object().get(d) || !members(d, depth + 1, vs, base, TRK_LAZY_INNER, out, el, &ve))
        return false;
      m = &out->members[at];               // the array may have moved
      m->type = TRK_LAZY_NESTED;
      m->value = static_cast<uint32_t>(vs - base);
      m->vlen = static_cast<uint32_t>(ve - vs);
      last = ve;
      continue;
    }
    switch (t) {
      case ondemand::json_type::object:
      case ondemand::json_type::array: m->type = TRK_LAZY_NESTED; break;
      case ondemand::json_type::string: m->type = TRK_LAZY_STRING; break;
      case ondemand::json_type::number: m->type = TRK_LAZY_NUMBER; break;
      case ondemand::json_type::boolean: m->type = TRK_LAZY_BOOLEAN; break;
      default: m->type = TRK_LAZY_NULL; break;
    }
    if (t == ondemand::json_type::boolean && *vs == 't') m->flags |= TRK_LAZY_TRUE;
    if (t == ondemand::json_type::number) {   // read now, once: a script reads ids often
      double d;
      std::string_view tok = trimmed(v.raw_json_token());
      if (v.get_double().get(d)) return false;
      trk_lazy_set_number(m, d);
      ve = tok.data() + tok.size();
    } else {
      if (!walk(v, t, depth + 1, &ve)) return false;
      m->value = static_cast<uint32_t>(vs - base);
      m->vlen = static_cast<uint32_t>(ve - vs);
    }
    last = ve;
  }
  return (*end = closed(last, '}')) != nullptr;
}

extern "C" int trk_lazy_page (const char *buf, size_t len, const char *list, trk_lazy_span *keys,
                              trk_lazy_span *values, size_t max, size_t *n, trk_lazy_list *out) {
  ondemand::document doc;
  ondemand::object top;
  *n = 0;
  if (parser().iterate(buf, len, len + TRK_LAZY_PADDING).get(doc)) return -1;
  if (doc.get_object().get(top)) return -1;
  for (auto member : top) {
    ondemand::field field;
    std::string_view key;
    if (*n >= max || std::move(member).get(field)) return -1;
    // the key's own token (before unescaping it, which consumes it): the caller decodes it
    keys[*n].s = field.key().raw() - 1;
    if (field.unescaped_key().get(key)) return -1;
    ondemand::value &v = field.value();
    values[*n].s = nullptr;
    values[*n].len = 0;
    ondemand::json_type t;
    if (v.type().get(t)) return -1;
    if (key == list && t == ondemand::json_type::array) {
      ondemand::array a;
      if (v.get_array().get(a)) return -1;
      for (auto element : a) {
        ondemand::value ev;
        ondemand::json_type et;
        if (element.get(ev) || ev.type().get(et)) return -1;
        if (!grow(out->elems, out->nelems, out->ecap)) return -1;
        trk_lazy_element *el = &out->elems[out->nelems++];
        el->first = out->nmembers;
        el->n = 0;
        el->odd = 0;
        if (et == ondemand::json_type::object) {
          ondemand::object o;
          const char *open = ev.raw_json_token().data(), *end;
          if (ev.get_object().get(o) || !members(o, 3, open, open, 0, out, el, &end)) return -1;
          el->text.s = open;
          el->text.len = static_cast<size_t>(end - open);
          el->n = out->nmembers - el->first;
        } else {
          const char *start = ev.raw_json_token().data(), *end;
          if (!walk(ev, et, 3, &end)) return -1;
          el->text.s = start;
          el->text.len = static_cast<size_t>(end - start);
          el->odd = 1;
        }
      }
    } else {
      const char *start = v.raw_json_token().data(), *end;
      if (!walk(v, t, 2, &end)) return -1;
      values[*n].s = start;
      values[*n].len = static_cast<size_t>(end - start);
    }
    keys[*n].len = 0;
    ++*n;
  }
  // each key token runs from its opening quote to the closing one (found after the fact:
  // the raw key is not unescaped, so the first unescaped quote ends it)
  for (size_t i = 0; i < *n; i++) {
    const char *s = keys[i].s + 1;
    while (*s != '"') s += (*s == '\\') ? 2 : 1;
    keys[i].len = static_cast<size_t>(s + 1 - keys[i].s);
  }
  return 0;
}

extern "C" int trk_lazy_string (const char *buf, size_t len, size_t cap, trk_lazy_span *out) {
  ondemand::document doc;
  std::string_view s;
  if (parser().iterate(buf, len, cap).get(doc) || doc.get_string().get(s)) return -1;
  out->s = s.data();
  out->len = s.size();
  return 0;
}

extern "C" size_t trk_lazy_parser_bytes (size_t len) {
  // structural indexes (4 bytes a byte) and the string buffer (5/3 of a byte a byte)
  return len * 6 + 2 * SIMDJSON_PADDING + 4096;
}
