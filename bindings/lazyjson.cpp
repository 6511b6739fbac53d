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

// One parser a thread, reused: its buffers grow to the largest text it was given.
static ondemand::parser &parser() {
  static thread_local ondemand::parser p;
  return p;
}

static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A token as simdjson hands it out runs on to the next structural character: the whitespace
// after it is not the value's.
static std::string_view trimmed(std::string_view t) {
  while (!t.empty() && space(t.back())) t.remove_suffix(1);
  return t;
}

// Past the '}' or ']' that closes a container whose last byte read so far is before p.
static const char *closed(const char *p) {
  while (space(*p)) p++;
  return p + 1;
}

// The JSON text of a value that has not been read yet.
static error_code raw_text(ondemand::value v, std::string_view &out) {
  ondemand::json_type t;
  error_code e = v.type().get(t);
  if (e) return e;
  if (t == ondemand::json_type::object) {
    ondemand::object o;
    if ((e = v.get_object().get(o))) return e;
    return o.raw_json().get(out);
  }
  if (t == ondemand::json_type::array) {
    ondemand::array a;
    if ((e = v.get_array().get(a))) return e;
    return a.raw_json().get(out);
  }
  out = trimmed(v.raw_json_token());
  return SUCCESS;
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

// Each member of object o (whose text starts at base) into out, INNER for `details`'s; *end
// is set past the object's closing brace. false when simdjson refuses it or memory ran out.
static bool members(ondemand::object o, const char *open, const char *base, uint8_t inner,
                    trk_lazy_list *out, trk_lazy_element *el, const char **end) {
  const char *last = open + 1;             // the end of what was read: past '{', or a value
  bool details = false;
  for (auto member : o) {
    ondemand::field field;
    if (std::move(member).get(field)) return false;
    const char *k = field.key().raw(), *q = k;
    while (*q != '"' && *q != '\\') q++;
    if (*q == '\\') el->odd = 1;           // looked up raw, a key must be as it reads
    ondemand::value v = field.value();
    ondemand::json_type t;
    if (v.type().get(t)) return false;
    trk_lazy_member m;
    m.key = static_cast<uint32_t>(k - base);
    m.klen = static_cast<uint32_t>(q - k);
    m.flags = inner;
    std::string_view text;
    const char *vs = v.raw_json_token().data();
    if (!inner && t == ondemand::json_type::object && q - k == 7 && !std::memcmp(k, "details", 7)) {
      if (details) el->odd = 1;            // a second one: the last wins, as cjson reads it
      details = true;
      ondemand::object d;
      const char *dend;
      if (v.get_object().get(d)) return false;
      size_t at = out->nmembers;            // its own entry, before its members
      if (!grow(out->members, out->nmembers, out->mcap)) return false;
      out->nmembers++;
      if (!members(d, vs, base, TRK_LAZY_INNER, out, el, &dend)) return false;
      m.type = TRK_LAZY_NESTED;
      m.value = static_cast<uint32_t>(vs - base);
      m.vlen = static_cast<uint32_t>(dend - vs);
      out->members[at] = m;
      last = dend;
      continue;
    }
    switch (t) {
      case ondemand::json_type::object:
      case ondemand::json_type::array:
        if (raw_text(v, text)) return false;
        m.type = TRK_LAZY_NESTED;
        break;
      case ondemand::json_type::string:
        text = trimmed(v.raw_json_token());
        m.type = TRK_LAZY_STRING;       // an escape in it is looked for where it is read
        break;
      case ondemand::json_type::number:
        text = trimmed(v.raw_json_token());
        m.type = TRK_LAZY_NUMBER;
        break;
      case ondemand::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) return false;
        text = trimmed(v.raw_json_token());
        m.type = TRK_LAZY_BOOLEAN;
        if (b) m.flags |= TRK_LAZY_TRUE;
        break;
      }
      default:
        bool null;
        if (v.is_null().get(null) || !null) return false;
        text = trimmed(v.raw_json_token());
        m.type = TRK_LAZY_NULL;
        break;
    }
    m.value = static_cast<uint32_t>(text.data() - base);
    m.vlen = static_cast<uint32_t>(text.size());
    last = text.data() + text.size();
    if (!grow(out->members, out->nmembers, out->mcap)) return false;
    out->members[out->nmembers++] = m;
  }
  *end = closed(last);
  return true;
}

extern "C" int trk_lazy_page (const char *buf, size_t len, const char *list, trk_lazy_span *keys,
                              trk_lazy_span *values, size_t max, size_t *n, trk_lazy_list *out) {
  ondemand::document doc;
  ondemand::object top;
  *n = 0;
  if (parser().iterate(buf, len, len + TRK_LAZY_PADDING).get(doc)) return -1;
  if (doc.get_object().get(top)) return -1;
  for (auto field : top) {
    std::string_view key, text;
    ondemand::value v;
    if (*n >= max) return -1;
    // the key's own token (before unescaping it, which consumes it): the caller decodes it
    keys[*n].s = field.key().value_unsafe().raw() - 1;
    if (field.unescaped_key().get(key) || field.value().get(v)) return -1;
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
          if (ev.get_object().get(o) || !members(o, open, open, 0, out, el, &end)) return -1;
          el->text.s = open;
          el->text.len = static_cast<size_t>(end - open);
          el->n = out->nmembers - el->first;
        } else {
          if (raw_text(ev, text)) return -1;
          el->text.s = text.data();
          el->text.len = text.size();
          el->odd = 1;
        }
      }
    } else {
      if (raw_text(v, text)) return -1;
      values[*n].s = text.data();
      values[*n].len = text.size();
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

extern "C" void trk_lazy_scalar (const char *buf, size_t len, size_t cap, trk_lazy_value *out) {
  ondemand::document doc;
  ondemand::json_type t;
  out->type = TRK_LAZY_ERROR;
  if (parser().iterate(buf, len, cap).get(doc) || doc.type().get(t)) return;
  if (t == ondemand::json_type::number) {
    if (doc.get_double().get(out->number)) return;
    out->type = TRK_LAZY_NUMBER;
  } else if (t == ondemand::json_type::string) {
    std::string_view s;
    if (doc.get_string().get(s)) return;
    out->text.s = s.data();
    out->text.len = s.size();
    out->type = TRK_LAZY_STRING;
  }
}

extern "C" size_t trk_lazy_parser_bytes (size_t len) {
  // structural indexes (4 bytes a byte) and the string buffer (5/3 of a byte a byte)
  return len * 6 + 2 * SIMDJSON_PADDING + 4096;
}
