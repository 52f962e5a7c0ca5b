#include "subscriptions/payload_pattern.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace reckon::subscriptions {

namespace dom = simdjson::dom;

enum class OpKind : uint8_t { kGt, kGte, kLt, kLte, kNe, kIn };

struct Op {
  OpKind kind;
  std::string name;  // "$gt" ...: the canonical text and the sort key
  JsonValue operand;
};

struct PayloadPattern::Node {
  enum class Kind : uint8_t {
    kEquals,     // the data value equals `value` (deep; numbers by value)
    kObject,     // the data value is an object containing every field (recursively)
    kOperators,  // every operator holds for the data value
  };
  Kind kind = Kind::kEquals;
  JsonValue value;                // kEquals
  std::vector<std::string> keys;  // kObject, sorted, unique
  std::vector<Node> children;     // kObject, parallel to keys
  std::vector<Op> ops;            // kOperators, sorted by name
};

using Node = PayloadPattern::Node;

namespace {

// ---- Numbers: exact for integers, by double otherwise. ----
struct Number {
  bool integral = true;
  __int128 i = 0;
  double d = 0;
};

Number number_of(const JsonValue& v) {
  Number n;
  switch (v.kind) {
    case JsonValue::Kind::kInt: n.i = v.int_value; break;
    case JsonValue::Kind::kUint: n.i = v.uint_value; break;
    default: n.integral = false; n.d = v.double_value; break;
  }
  return n;
}

bool number_of(dom::element e, Number& n) {
  switch (e.type()) {
    case dom::element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v)) return false;
      n = Number{true, v, 0};
      return true;
    }
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) return false;
      n = Number{true, v, 0};
      return true;
    }
    case dom::element_type::DOUBLE: {
      double v = 0;
      if (e.get_double().get(v)) return false;
      n = Number{false, 0, v};
      return true;
    }
    default:
      return false;
  }
}

int compare(const Number& a, const Number& b) {
  if (a.integral && b.integral) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  const double x = a.integral ? static_cast<double>(a.i) : a.d;
  const double y = b.integral ? static_cast<double>(b.i) : b.d;
  return x < y ? -1 : (x > y ? 1 : 0);
}

// ---- Selector side: simdjson element -> JsonValue / Node ----
Status invalid(const std::string& path, const std::string& what) {
  return Status::invalid_argument("invalid event_payload selector at '" + path + "': " + what);
}

std::string child_path(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}

Result<JsonValue> to_value(dom::element e, const std::string& path) {
  JsonValue v;
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      v.kind = JsonValue::Kind::kNull;
      break;
    case dom::element_type::BOOL:
      v.kind = JsonValue::Kind::kBool;
      if (e.get_bool().get(v.boolean)) return invalid(path, "bad boolean");
      break;
    case dom::element_type::INT64:
      v.kind = JsonValue::Kind::kInt;
      if (e.get_int64().get(v.int_value)) return invalid(path, "bad integer");
      break;
    case dom::element_type::UINT64:
      v.kind = JsonValue::Kind::kUint;
      if (e.get_uint64().get(v.uint_value)) return invalid(path, "bad integer");
      break;
    case dom::element_type::DOUBLE:
      v.kind = JsonValue::Kind::kDouble;
      if (e.get_double().get(v.double_value)) return invalid(path, "bad number");
      break;
    case dom::element_type::STRING: {
      v.kind = JsonValue::Kind::kString;
      std::string_view s;
      if (e.get_string().get(s)) return invalid(path, "bad string");
      v.string.assign(s);
      break;
    }
    case dom::element_type::ARRAY: {
      v.kind = JsonValue::Kind::kArray;
      dom::array a;
      if (e.get_array().get(a)) return invalid(path, "bad array");
      size_t i = 0;
      for (dom::element item : a) {
        RECKON_ASSIGN_OR_RETURN(JsonValue iv, to_value(item, path + "[" + std::to_string(i++) + "]"));
        v.items.push_back(std::move(iv));
      }
      break;
    }
    case dom::element_type::OBJECT: {
      v.kind = JsonValue::Kind::kObject;
      dom::object o;
      if (e.get_object().get(o)) return invalid(path, "bad object");
      for (dom::key_value_pair field : o) {
        RECKON_ASSIGN_OR_RETURN(JsonValue fv, to_value(field.value, child_path(path, field.key)));
        v.members.emplace_back(std::string(field.key), std::move(fv));
      }
      std::sort(v.members.begin(), v.members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 1; i < v.members.size(); ++i) {
        if (v.members[i].first == v.members[i - 1].first) {
          return invalid(child_path(path, v.members[i].first), "duplicate key");
        }
      }
      break;
    }
  }
  return v;
}

Result<Op> parse_op(std::string_view name, dom::element operand, const std::string& path) {
  static const std::pair<std::string_view, OpKind> kOps[] = {
      {"$gt", OpKind::kGt}, {"$gte", OpKind::kGte}, {"$lt", OpKind::kLt},
      {"$lte", OpKind::kLte}, {"$ne", OpKind::kNe}, {"$in", OpKind::kIn},
  };
  const std::string op_path = child_path(path, name);
  Op op;
  auto it = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& p) { return p.first == name; });
  if (it == std::end(kOps)) {
    return invalid(op_path, "unknown operator (known: $gt, $gte, $lt, $lte, $ne, $in)");
  }
  op.kind = it->second;
  op.name.assign(name);
  RECKON_ASSIGN_OR_RETURN(op.operand, to_value(operand, op_path));
  switch (op.kind) {
    case OpKind::kGt:
    case OpKind::kGte:
    case OpKind::kLt:
    case OpKind::kLte:
      if (!op.operand.is_number() && op.operand.kind != JsonValue::Kind::kString) {
        return invalid(op_path, "needs a number or a string");
      }
      break;
    case OpKind::kIn:
      if (op.operand.kind != JsonValue::Kind::kArray || op.operand.items.empty()) {
        return invalid(op_path, "needs a non-empty array");
      }
      break;
    case OpKind::kNe:
      break;
  }
  return op;
}

Result<Node> parse_node(dom::element e, const std::string& path, bool top) {
  Node n;
  if (e.type() != dom::element_type::OBJECT) {
    if (top) return invalid(path, "must be a JSON object");
    n.kind = Node::Kind::kEquals;
    RECKON_ASSIGN_OR_RETURN(n.value, to_value(e, path));
    return n;
  }
  dom::object o;
  if (e.get_object().get(o)) return invalid(path, "bad object");
  size_t operators = 0, fields = 0;
  for (dom::key_value_pair f : o) (f.key.starts_with('$') ? operators : fields)++;
  if (operators > 0 && fields > 0) {
    return invalid(path, "an object is either all operators ($...) or all fields, not both");
  }
  if (operators > 0) {
    if (top) return invalid(path, "operators need a field (e.g. {\"amount\": {\"$gt\": 10}})");
    n.kind = Node::Kind::kOperators;
    for (dom::key_value_pair f : o) {
      RECKON_ASSIGN_OR_RETURN(Op op, parse_op(f.key, f.value, path));
      n.ops.push_back(std::move(op));
    }
    std::sort(n.ops.begin(), n.ops.end(), [](const Op& a, const Op& b) { return a.name < b.name; });
    for (size_t i = 1; i < n.ops.size(); ++i) {
      if (n.ops[i].name == n.ops[i - 1].name) return invalid(child_path(path, n.ops[i].name), "duplicate operator");
    }
    return n;
  }
  if (top && fields == 0) return invalid(path, "must name at least one field");
  n.kind = Node::Kind::kObject;
  std::vector<std::pair<std::string, Node>> entries;
  for (dom::key_value_pair f : o) {
    RECKON_ASSIGN_OR_RETURN(Node child, parse_node(f.value, child_path(path, f.key), false));
    entries.emplace_back(std::string(f.key), std::move(child));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!n.keys.empty() && entries[i].first == n.keys.back()) {
      return invalid(child_path(path, entries[i].first), "duplicate key");
    }
    n.keys.push_back(std::move(entries[i].first));
    n.children.push_back(std::move(entries[i].second));
  }
  return n;
}

// ---- Canonical text ----
void append_number(std::string& out, const JsonValue& v) {
  char buf[64];
  std::to_chars_result r;
  switch (v.kind) {
    case JsonValue::Kind::kInt: r = std::to_chars(buf, buf + sizeof buf, v.int_value); break;
    case JsonValue::Kind::kUint: r = std::to_chars(buf, buf + sizeof buf, v.uint_value); break;
    default: r = std::to_chars(buf, buf + sizeof buf, v.double_value); break;  // shortest round-trip
  }
  out.append(buf, r.ptr);
}

void append_value(std::string& out, const JsonValue& v) {
  switch (v.kind) {
    case JsonValue::Kind::kNull: out += "null"; break;
    case JsonValue::Kind::kBool: out += v.boolean ? "true" : "false"; break;
    case JsonValue::Kind::kInt:
    case JsonValue::Kind::kUint:
    case JsonValue::Kind::kDouble: append_number(out, v); break;
    case JsonValue::Kind::kString: append_json_string(out, v.string); break;
    case JsonValue::Kind::kArray:
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out.push_back(',');
        append_value(out, v.items[i]);
      }
      out.push_back(']');
      break;
    case JsonValue::Kind::kObject:
      out.push_back('{');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, v.members[i].first);
        out.push_back(':');
        append_value(out, v.members[i].second);
      }
      out.push_back('}');
      break;
  }
}

void append_node(std::string& out, const Node& n) {
  switch (n.kind) {
    case Node::Kind::kEquals:
      append_value(out, n.value);
      break;
    case Node::Kind::kObject:
      out.push_back('{');
      for (size_t i = 0; i < n.keys.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, n.keys[i]);
        out.push_back(':');
        append_node(out, n.children[i]);
      }
      out.push_back('}');
      break;
    case Node::Kind::kOperators:
      out.push_back('{');
      for (size_t i = 0; i < n.ops.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, n.ops[i].name);
        out.push_back(':');
        append_value(out, n.ops[i].operand);
      }
      out.push_back('}');
      break;
  }
}

// ---- Event side: JsonValue / Node against a simdjson element ----
bool equals(const JsonValue& v, dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return v.kind == JsonValue::Kind::kNull;
    case dom::element_type::BOOL: {
      bool b = false;
      return v.kind == JsonValue::Kind::kBool && !e.get_bool().get(b) && b == v.boolean;
    }
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: {
      Number n;
      return v.is_number() && number_of(e, n) && compare(number_of(v), n) == 0;
    }
    case dom::element_type::STRING: {
      std::string_view s;
      return v.kind == JsonValue::Kind::kString && !e.get_string().get(s) && s == v.string;
    }
    case dom::element_type::ARRAY: {
      dom::array a;
      if (v.kind != JsonValue::Kind::kArray || e.get_array().get(a) || a.size() != v.items.size()) return false;
      size_t i = 0;
      for (dom::element item : a)
        if (!equals(v.items[i++], item)) return false;
      return true;
    }
    case dom::element_type::OBJECT: {
      dom::object o;
      if (v.kind != JsonValue::Kind::kObject || e.get_object().get(o) || o.size() != v.members.size()) {
        return false;
      }
      for (const auto& [key, member] : v.members) {
        dom::element fe;
        if (o.at_key(key).get(fe) || !equals(member, fe)) return false;
      }
      return true;
    }
  }
  return false;
}

// The data value compared with an ordering operator's operand: -2 when not comparable
// (a number against a string, or anything else).
int order(const JsonValue& operand, dom::element e) {
  if (operand.is_number()) {
    Number n;
    if (!number_of(e, n)) return -2;
    return compare(n, number_of(operand));
  }
  std::string_view s;
  if (e.type() != dom::element_type::STRING || e.get_string().get(s)) return -2;
  const int c = s.compare(operand.string);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool holds(const Op& op, dom::element e) {
  switch (op.kind) {
    case OpKind::kNe: return !equals(op.operand, e);
    case OpKind::kIn:
      return std::any_of(op.operand.items.begin(), op.operand.items.end(),
                         [&](const JsonValue& v) { return equals(v, e); });
    default: break;
  }
  const int c = order(op.operand, e);
  if (c == -2) return false;
  switch (op.kind) {
    case OpKind::kGt: return c > 0;
    case OpKind::kGte: return c >= 0;
    case OpKind::kLt: return c < 0;
    case OpKind::kLte: return c <= 0;
    default: return false;
  }
}

// An absent field satisfies only operator objects made of `$ne` alone.
bool absent_ok(const Node& n) {
  return n.kind == Node::Kind::kOperators &&
         std::all_of(n.ops.begin(), n.ops.end(), [](const Op& op) { return op.kind == OpKind::kNe; });
}

bool match_node(const Node& n, dom::element e) {
  switch (n.kind) {
    case Node::Kind::kEquals:
      return equals(n.value, e);
    case Node::Kind::kOperators:
      return std::all_of(n.ops.begin(), n.ops.end(), [&](const Op& op) { return holds(op, e); });
    case Node::Kind::kObject: {
      dom::object o;
      if (e.type() != dom::element_type::OBJECT || e.get_object().get(o)) return false;
      for (size_t i = 0; i < n.keys.size(); ++i) {
        dom::element fe;
        if (o.at_key(n.keys[i]).get(fe)) {
          if (!absent_ok(n.children[i])) return false;
        } else if (!match_node(n.children[i], fe)) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

PayloadPattern::~PayloadPattern() = default;

Result<std::shared_ptr<const PayloadPattern>> PayloadPattern::parse(std::string_view text) {
  dom::parser parser;
  simdjson::padded_string padded(text);
  dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    return Status::invalid_argument(std::string("event_payload selector is not valid JSON: ") +
                                    simdjson::error_message(err));
  }
  RECKON_ASSIGN_OR_RETURN(Node node, parse_node(root, "$", true));
  std::shared_ptr<PayloadPattern> p(new PayloadPattern());
  p->root_ = std::make_unique<Node>(std::move(node));
  append_node(p->canonical_, *p->root_);
  return std::shared_ptr<const PayloadPattern>(std::move(p));
}

bool PayloadPattern::matches(std::string_view data) const {
  // One parser and one padded buffer per thread: simdjson reads up to SIMDJSON_PADDING bytes
  // past the end, and a parser reuses its buffers (it is not thread-safe).
  thread_local dom::parser parser;
  thread_local std::string buffer;
  if (buffer.capacity() < data.size() + simdjson::SIMDJSON_PADDING) {
    buffer.reserve(data.size() + simdjson::SIMDJSON_PADDING);
  }
  buffer.assign(data.data(), data.size());
  dom::element root;
  if (parser.parse(simdjson::padded_string_view(buffer.data(), buffer.size(), buffer.capacity())).get(root)) {
    return false;
  }
  return match_node(*root_, root);
}

}  // namespace reckon::subscriptions
