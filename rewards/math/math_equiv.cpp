// Answer equivalence (see math_equiv.h for the policy). The comparison walks both trees together: first
// relations are unwrapped or compared as relations, then matrices, collections (ordered, unordered,
// intervals, unions, +- expansions), then scalars: base-b numerals, letters and text, infinities,
// percentages, and finally numbers and expressions by value.
#include "rewards/math/math_equiv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rewards/math/math_eval.h"
#include "rewards/math/math_normalize.h"
#include "rewards/math/math_parse.h"

namespace aha::rewards::math {
namespace {

constexpr int kMaxPlusMinusPerElement = 4;  // 16 expansions
constexpr size_t kMaxVariables = 12;
constexpr size_t kMaxElements = 64;

// A subtree of one of the two answers; for one expansion of +-, `signs` picks the signs.
struct Item {
  const Expr* tree = nullptr;
  int node = -1;
  uint32_t signs = 0;
  bool expanded = false;  // an expansion of +-: evaluate PlusMinus with `signs`; otherwise +- is undefined

  const Node& at() const { return tree->at(node); }
  Item child(int index) const {
    return Item{tree, tree->at(node).args[static_cast<size_t>(index)], signs, expanded};
  }
};

bool is_collection(Kind kind) {
  return kind == Kind::List || kind == Kind::Set || kind == Kind::Seq || kind == Kind::Union;
}

// Splits an element with +- into its 2^k sign choices; an element without is itself.
void push_expansions(const Item& element, std::vector<Item>& out) {
  const int k = element.expanded ? 0 : count_plus_minus(*element.tree, element.node);
  if (k == 0 || k > kMaxPlusMinusPerElement) {
    out.push_back(element);
    return;
  }
  for (uint32_t signs = 0; signs < (1u << k); ++signs)
    out.push_back(Item{element.tree, element.node, signs, true});
}

// +1 for \infty, -1 for -\infty, 0 for anything else.
int infinity_sign(const Item& item) {
  const Node& n = item.at();
  if (n.kind == Kind::Symbol && n.name == "inf") return 1;
  if (n.kind == Kind::Neg) return -infinity_sign(item.child(0));
  return 0;
}

bool contains_infinity(const Expr& tree, int index) {
  const Node& n = tree.at(index);
  if (n.kind == Kind::Symbol && n.name == "inf") return true;
  for (int a : n.args)
    if (contains_infinity(tree, a)) return true;
  return false;
}

// The letters an answer spells when it is a word, a letter or text ("\text{(C)}", "C", "even").
std::optional<std::string> letters_of(const Item& item) {
  const Node& n = item.at();
  std::string letters;
  if (n.kind == Kind::Text || n.kind == Kind::Word) {
    for (char c : n.name)
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) letters.push_back(c);
    return letters;
  }
  if (n.kind == Kind::Symbol && n.name.size() == 1 && n.name[0] >= 'a' && n.name[0] <= 'z') return n.name;
  return std::nullopt;
}

// Written as a decimal: 0.5, -0.5, 0.5% (Math-Verify's "atomic Float").
bool is_float_literal(const Item& item) {
  const Node& n = item.at();
  if (n.kind == Kind::Number) return n.decimal_literal;
  if (n.kind == Kind::Neg || n.kind == Kind::Percent) return is_float_literal(item.child(0));
  return false;
}

// Symbols only ("x", "f(x)" = f*x, "a_1"): the left side of an assignment.
bool symbols_only(const Item& item) {
  const Node& n = item.at();
  if (n.kind == Kind::Symbol) return n.name != "pi" && n.name != "inf";
  if (n.kind == Kind::Word) return true;
  if (n.kind == Kind::Mul) {
    for (size_t k = 0; k < n.args.size(); ++k)
      if (!symbols_only(item.child(static_cast<int>(k)))) return false;
    return true;
  }
  return false;
}

bool all_equalities(const Node& relation) {
  return std::all_of(relation.rels.begin(), relation.rels.end(),
                     [](Rel r) { return r == Rel::Eq || r == Rel::In; });
}

bool is_assignment(const Item& item) {
  const Node& n = item.at();
  return n.kind == Kind::Relation && all_equalities(n) && symbols_only(item.child(0));
}

Item last_side(const Item& relation) {
  return relation.child(static_cast<int>(relation.at().args.size()) - 1);
}

// An interval with possibly infinite ends, from "[a, b)" or from an inequality like "x > 3".
struct IntervalView {
  Item lo, hi;
  int lo_infinity = 0, hi_infinity = 0;  // -1, +1 or 0 (finite)
  bool lo_closed = false, hi_closed = false;
};

std::optional<IntervalView> interval_of_seq(const Item& item) {
  const Node& n = item.at();
  if (n.kind != Kind::Seq || n.args.size() != 2 || (n.open != '(' && n.open != '[') ||
      (n.close != ')' && n.close != ']'))
    return std::nullopt;
  IntervalView view;
  view.lo = item.child(0);
  view.hi = item.child(1);
  view.lo_infinity = infinity_sign(view.lo);
  view.hi_infinity = infinity_sign(view.hi);
  view.lo_closed = n.open == '[';
  view.hi_closed = n.close == ']';
  return view;
}

// The relation's operands and operators with > and >= flipped to < and <= (reversing the chain).
struct Chain {
  std::vector<Item> operands;
  std::vector<Rel> rels;
};

Chain ascending(const Item& relation) {
  const Node& n = relation.at();
  Chain chain;
  for (size_t k = 0; k < n.args.size(); ++k) chain.operands.push_back(relation.child(static_cast<int>(k)));
  chain.rels = n.rels;
  const bool descending =
      std::any_of(n.rels.begin(), n.rels.end(), [](Rel r) { return r == Rel::Gt || r == Rel::Ge; });
  if (descending) {
    std::reverse(chain.operands.begin(), chain.operands.end());
    std::reverse(chain.rels.begin(), chain.rels.end());
    for (Rel& r : chain.rels) r = r == Rel::Gt ? Rel::Lt : r == Rel::Ge ? Rel::Le : r;
  }
  return chain;
}

bool is_lone_variable(const Item& item) {
  const Node& n = item.at();
  return n.kind == Kind::Symbol && n.name != "pi" && n.name != "e" && n.name != "i" && n.name != "inf";
}

// "x > 3" -> (3, oo), "-2 <= x <= 7" -> [-2, 7]: single-variable inequalities only.
std::optional<IntervalView> interval_of_relation(const Item& relation) {
  const Chain chain = ascending(relation);
  for (Rel r : chain.rels)
    if (r != Rel::Lt && r != Rel::Le) return std::nullopt;
  IntervalView view;
  if (chain.operands.size() == 3 && is_lone_variable(chain.operands[1])) {
    view.lo = chain.operands[0];
    view.hi = chain.operands[2];
    view.lo_closed = chain.rels[0] == Rel::Le;
    view.hi_closed = chain.rels[1] == Rel::Le;
  } else if (chain.operands.size() == 2 && is_lone_variable(chain.operands[1])) {
    view.lo = chain.operands[0];
    view.hi = chain.operands[1];
    view.hi_infinity = 1;
    view.lo_closed = chain.rels[0] == Rel::Le;
  } else if (chain.operands.size() == 2 && is_lone_variable(chain.operands[0])) {
    view.lo = chain.operands[0];
    view.hi = chain.operands[1];
    view.lo_infinity = -1;
    view.hi_closed = chain.rels[0] == Rel::Le;
  } else {
    return std::nullopt;
  }
  if (!view.lo_infinity) view.lo_infinity = infinity_sign(view.lo);
  if (!view.hi_infinity) view.hi_infinity = infinity_sign(view.hi);
  return view;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser: deterministic points, the same on every machine
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

class Comparator {
 public:
  explicit Comparator(const EquivOptions& options) : options_(options) {}

  bool equal(const Item& gold, const Item& pred) {
    if (--comparisons_left_ < 0) return false;
    const Node& g = gold.at();
    const Node& p = pred.at();
    if (g.kind == Kind::Relation && p.kind == Kind::Relation) return relations_equal(gold, pred);
    if (p.kind == Kind::Relation) {
      // The gold is not an equation: the prediction's final right side is its answer ("x = 5" -> 5).
      if (all_equalities(p)) return equal(gold, last_side(pred));
      return false;
    }
    if (g.kind == Kind::Relation) {
      if (is_assignment(gold)) return equal(last_side(gold), pred);
      if (p.kind == Kind::Seq) {
        const std::optional<IntervalView> a = interval_of_relation(gold), b = interval_of_seq(pred);
        return a && b && intervals_equal(*a, *b);
      }
      return false;
    }
    return values_equal(gold, pred);
  }

 private:
  const EquivOptions& options_;
  int64_t comparisons_left_ = 20000;
  int64_t evaluations_left_ = 2000000;  // node visits across all evaluations

  // -- collections ---------------------------------------------------------------------------------
  enum class Shape { Scalar, Ordered, Unordered, Union, Matrix };

  struct View {
    Shape shape = Shape::Scalar;
    char open = 0, close = 0;
    std::vector<Item> items;
    bool from_scalar = false;  // a single scalar (or its +- expansions) seen as a set
  };

  View view_of(const Item& item) const {
    const Node& n = item.at();
    View view;
    view.open = n.open;
    view.close = n.close;
    switch (n.kind) {
      case Kind::Seq:
        view.shape = Shape::Ordered;
        for (size_t k = 0; k < n.args.size(); ++k) view.items.push_back(item.child(static_cast<int>(k)));
        return view;
      case Kind::List:
      case Kind::Set:
        view.shape = Shape::Unordered;
        for (size_t k = 0; k < n.args.size() && view.items.size() <= kMaxElements; ++k)
          push_expansions(item.child(static_cast<int>(k)), view.items);
        return view;
      case Kind::Union:
        view.shape = Shape::Union;
        for (size_t k = 0; k < n.args.size(); ++k) view.items.push_back(item.child(static_cast<int>(k)));
        return view;
      case Kind::Matrix:
        view.shape = Shape::Matrix;
        for (size_t k = 0; k < n.args.size(); ++k) view.items.push_back(item.child(static_cast<int>(k)));
        return view;
      default:
        view.from_scalar = true;
        push_expansions(item, view.items);
        view.shape = view.items.size() > 1 ? Shape::Unordered : Shape::Scalar;
        return view;
    }
  }

  bool values_equal(const Item& gold, const Item& pred) {
    View g = view_of(gold), p = view_of(pred);
    if (g.shape == Shape::Scalar && p.shape == Shape::Scalar) return scalars_equal(gold, pred);
    if (g.shape == Shape::Matrix || p.shape == Shape::Matrix) {
      if (g.shape != p.shape || gold.at().rows != pred.at().rows || gold.at().cols != pred.at().cols)
        return false;
      return in_order(g.items, p.items);
    }
    // A lone scalar against a collection is a one-element set (Math-Verify): 5 = \{5\}.
    if (g.shape == Shape::Scalar) g.shape = Shape::Unordered;
    if (p.shape == Shape::Scalar) p.shape = Shape::Unordered;
    if (g.shape == Shape::Union || p.shape == Shape::Union) {
      if (g.shape == p.shape) return unordered(g.items, p.items);
      const View& u = g.shape == Shape::Union ? g : p;
      if (u.items.size() != 1) return false;
      return g.shape == Shape::Union ? equal(g.items[0], pred) : equal(gold, p.items[0]);
    }
    if (g.shape == Shape::Ordered && p.shape == Shape::Ordered) {
      if (g.items.size() != p.items.size()) return false;
      if (g.items.size() == 2) {
        const std::optional<IntervalView> a = interval_of_seq(gold), b = interval_of_seq(pred);
        if (a && b) return intervals_equal(*a, *b);
        if (g.open != p.open || g.close != p.close) return false;
      }
      return in_order(g.items, p.items);
    }
    if (g.shape == Shape::Ordered || p.shape == Shape::Ordered) {
      // A tuple against a bare list or set: in written order; "(a, b)" only, not "[a, b)".
      const View& seq = g.shape == Shape::Ordered ? g : p;
      const View& other = g.shape == Shape::Ordered ? p : g;
      if (other.from_scalar || seq.items.size() != other.items.size()) return false;
      if (seq.items.size() == 2 && (seq.open != '(' || seq.close != ')')) return false;
      return in_order(g.items, p.items);
    }
    return unordered(g.items, p.items);
  }

  bool in_order(const std::vector<Item>& gold, const std::vector<Item>& pred) {
    if (gold.size() != pred.size()) return false;
    for (size_t k = 0; k < gold.size(); ++k)
      if (!equal(gold[k], pred[k])) return false;
    return true;
  }

  // Elements equal to an earlier one dropped: sets, as in sympy's FiniteSet ("2, 2" is {2}).
  std::vector<Item> distinct(const std::vector<Item>& items) {
    std::vector<Item> kept;
    for (const Item& item : items) {
      bool seen = false;
      for (size_t k = 0; k < kept.size() && !seen; ++k) seen = equal(kept[k], item);
      if (!seen) kept.push_back(item);
    }
    return kept;
  }

  // The same set: each gold element matched to a distinct predicted one after duplicates are dropped
  // (greedy; equality of answers is an equivalence, so greedy finds a matching whenever one exists).
  bool unordered(const std::vector<Item>& all_gold, const std::vector<Item>& all_pred) {
    if (all_gold.size() > kMaxElements || all_pred.size() > kMaxElements) return false;
    const std::vector<Item> gold = distinct(all_gold), pred = distinct(all_pred);
    if (gold.size() != pred.size()) return false;
    std::vector<bool> used(pred.size(), false);
    for (const Item& g : gold) {
      bool found = false;
      for (size_t k = 0; k < pred.size() && !found; ++k) {
        if (!used[k] && equal(g, pred[k])) {
          used[k] = true;
          found = true;
        }
      }
      if (!found) return false;
    }
    return true;
  }

  bool intervals_equal(const IntervalView& a, const IntervalView& b) {
    // An infinite end is open however it is written.
    if (a.lo_infinity != b.lo_infinity || a.hi_infinity != b.hi_infinity) return false;
    if (!a.lo_infinity && (a.lo_closed != b.lo_closed || !equal(a.lo, b.lo))) return false;
    if (!a.hi_infinity && (a.hi_closed != b.hi_closed || !equal(a.hi, b.hi))) return false;
    return true;
  }

  // -- relations -----------------------------------------------------------------------------------
  bool relations_equal(const Item& gold, const Item& pred) {
    const Node& g = gold.at();
    const Node& p = pred.at();
    if (all_equalities(g) && all_equalities(p)) {
      // Chains "x = 2 + 3 = 5" keep their first left and last right side.
      const Item gl = gold.child(0), gr = last_side(gold), pl = pred.child(0), pr = last_side(pred);
      if (is_assignment(gold) && is_assignment(pred)) return equal(gl, pl) && equal(gr, pr);
      const bool any_in = std::count(g.rels.begin(), g.rels.end(), Rel::In) +
                              std::count(p.rels.begin(), p.rels.end(), Rel::In) >
                          0;
      if (any_in) return false;
      return proportional(gl, gr, pl, pr, /*positive=*/false);
    }
    if (all_equalities(g) || all_equalities(p)) return false;
    const Chain a = ascending(gold), b = ascending(pred);
    if (a.rels != b.rels) return false;
    if (a.operands.size() == 2) {
      // lhs < rhs  <=>  rhs - lhs > 0: the same inequality when the differences are positive multiples.
      return proportional(a.operands[1], a.operands[0], b.operands[1], b.operands[0], a.rels[0] != Rel::Ne);
    }
    return in_order(a.operands, b.operands);
  }

  // Whether (gl - gr) = c (pl - pr) for one constant c (c > 0 if `positive`), at every sample point.
  bool proportional(const Item& gl, const Item& gr, const Item& pl, const Item& pr, bool positive) {
    std::vector<std::string> names;
    for (const Item* side : {&gl, &gr, &pl, &pr}) collect_variables(*side->tree, side->node, names);
    if (names.size() > kMaxVariables) return false;
    const int points = names.empty() ? 1 : options_.points;
    std::optional<Complex> ratio;
    for (int k = 0; k < points; ++k) {
      const Variables variables = sample(names, k);
      const Value a = evaluate_item(gl, variables), b = evaluate_item(gr, variables);
      const Value c = evaluate_item(pl, variables), d = evaluate_item(pr, variables);
      if (!a.defined || !b.defined || !c.defined || !d.defined) return false;
      const Complex dg = a.approx - b.approx, dp = c.approx - d.approx;
      const long double scale =
          std::max({std::abs(a.approx), std::abs(b.approx), std::abs(c.approx), std::abs(d.approx), 1.0L});
      const bool g_zero = std::abs(dg) <= 1e-12L * scale, p_zero = std::abs(dp) <= 1e-12L * scale;
      if (g_zero != p_zero) return false;
      if (g_zero) continue;
      const Complex r = dg / dp;
      if (positive && (r.real() <= 0 || std::abs(r.imag()) > 1e-9L * std::abs(r))) return false;
      if (ratio && !close(r, *ratio, 1e-8L)) return false;
      ratio = r;
    }
    return ratio.has_value();
  }

  // -- scalars -------------------------------------------------------------------------------------
  bool scalars_equal(const Item& gold, const Item& pred) {
    const Node& g = gold.at();
    const Node& p = pred.at();
    if (g.kind == Kind::BaseNumeral || p.kind == Kind::BaseNumeral)
      return g.kind == p.kind && g.base == p.base && g.name == p.name;
    const std::optional<std::string> gl = letters_of(gold), pl = letters_of(pred);
    if (g.kind == Kind::Text || p.kind == Kind::Text) return gl && pl && !gl->empty() && *gl == *pl;
    if (gl && pl && *gl == *pl) return true;
    const int gi = infinity_sign(gold), pi = infinity_sign(pred);
    if (gi != 0 || pi != 0) return gi == pi;
    if (contains_infinity(*gold.tree, gold.node) || contains_infinity(*pred.tree, pred.node)) return false;
    // Percent: "10%" equals 10 and 0.1 (Math-Verify); two percents are compared as they stand.
    const bool g_percent = g.kind == Kind::Percent, p_percent = p.kind == Kind::Percent;
    if (g_percent != p_percent) {
      const Item& percent = g_percent ? gold : pred;
      const Item inner = percent.child(0);
      if (g_percent) return by_value(gold, pred) || by_value(inner, pred);
      return by_value(gold, pred) || by_value(gold, inner);
    }
    return by_value(gold, pred);
  }

  Value evaluate_item(const Item& item, const Variables& variables) {
    if (!item.expanded && count_plus_minus(*item.tree, item.node) > 0) return {};
    EvalContext context;
    context.variables = &variables;
    context.plus_minus_signs = item.signs;
    context.budget = std::min<int64_t>(evaluations_left_, 100000);
    const int64_t before = context.budget;
    Value v = evaluate(*item.tree, item.node, context);
    evaluations_left_ -= before - std::max<int64_t>(context.budget, 0);
    if (evaluations_left_ <= 0) return {};
    return v;
  }

  Variables sample(const std::vector<std::string>& names, int point) const {
    Variables variables;
    for (const std::string& name : names) {
      const uint64_t bits = mix(hash_name(name) ^ mix(static_cast<uint64_t>(point) + 1));
      // Uniform in [0.35, 2.85): away from 0 and 1, where different expressions often agree.
      const long double u =
          static_cast<long double>(bits >> 11) / static_cast<long double>(uint64_t{1} << 53);
      variables.emplace_back(name, Complex(0.35L + 2.5L * u, 0));
    }
    return variables;
  }

  static bool close(Complex a, Complex b, long double tolerance) {
    const long double scale = std::max(std::abs(a), std::abs(b));
    return std::abs(a - b) <= tolerance * scale + 1e-14L;
  }

  bool rounded_equal(const Value& a, const Value& b) const {
    if (a.exact && b.exact) {
      const std::optional<Rational> x = Rational::round_decimal(*a.exact, options_.float_rounding);
      const std::optional<Rational> y = Rational::round_decimal(*b.exact, options_.float_rounding);
      return x && y && *x == *y;
    }
    if (std::abs(a.approx.imag()) > 1e-12L || std::abs(b.approx.imag()) > 1e-12L) return false;
    const long double scale = std::pow(10.0L, options_.float_rounding);
    auto rounded = [&](const Value& v) {
      if (v.exact) {
        const std::optional<Rational> r = Rational::round_decimal(*v.exact, options_.float_rounding);
        if (r) return r->to_long_double() * scale;
      }
      return std::round(v.approx.real() * scale);
    };
    return std::abs(rounded(a) - rounded(b)) < 0.5L;
  }

  bool by_value(const Item& gold, const Item& pred) {
    const bool float_literal = is_float_literal(gold) || is_float_literal(pred);
    std::vector<std::string> names;
    collect_variables(*gold.tree, gold.node, names);
    collect_variables(*pred.tree, pred.node, names);
    if (names.size() > kMaxVariables) return false;
    if (names.empty()) {
      const Value a = evaluate_item(gold, {}), b = evaluate_item(pred, {});
      if (!a.defined || !b.defined) return false;
      if (a.exact && b.exact && *a.exact == *b.exact) return true;
      if (float_literal) return rounded_equal(a, b);
      if (a.exact && b.exact) return false;
      return close(a.approx, b.approx, options_.tolerance);
    }
    int agreeing = 0;
    for (int k = 0; k < options_.points; ++k) {
      const Variables variables = sample(names, k);
      const Value a = evaluate_item(gold, variables), b = evaluate_item(pred, variables);
      if (!a.defined && !b.defined) continue;  // e.g. a pole of both sides
      if (!a.defined || !b.defined) return false;
      if (!close(a.approx, b.approx, std::max(options_.tolerance, 1e-8L))) return false;
      ++agreeing;
    }
    return agreeing >= std::min(2, options_.points);
  }
};

std::string without_spaces(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != ' ') out.push_back(c);
  return out;
}

}  // namespace

PreparedAnswer prepare_answer(std::string_view answer) {
  PreparedAnswer prepared;
  prepared.normalized = normalize_answer(answer);
  prepared.expr = parse_answer(prepared.normalized);
  return prepared;
}

bool equivalent(const PreparedAnswer& gold, const PreparedAnswer& pred, const EquivOptions& options) {
  if (gold.normalized.empty() || pred.normalized.empty()) return false;
  if (gold.normalized == pred.normalized) return true;
  // Spacing decides only between texts the parser cannot read: "58,500" is not "58, 500".
  if (!gold.expr || !pred.expr) return without_spaces(gold.normalized) == without_spaces(pred.normalized);
  Comparator comparator(options);
  return comparator.equal(Item{&*gold.expr, gold.expr->root}, Item{&*pred.expr, pred.expr->root});
}

bool equivalent(std::string_view gold, std::string_view pred, const EquivOptions& options) {
  return equivalent(prepare_answer(gold), prepare_answer(pred), options);
}

std::optional<Rational> exact_number(const PreparedAnswer& answer) {
  if (!answer.expr) return std::nullopt;
  const Expr& expr = *answer.expr;
  int root = expr.root;
  // "x = 27" answers 27.
  if (expr.at(root).kind == Kind::Relation && all_equalities(expr.at(root)) &&
      expr.at(root).rels[0] == Rel::Eq)
    root = expr.at(root).args.back();
  const Kind kind = expr.at(root).kind;
  if (is_collection(kind) || kind == Kind::Relation || kind == Kind::Matrix) return std::nullopt;
  std::vector<std::string> names;
  collect_variables(expr, root, names);
  if (!names.empty() || count_plus_minus(expr, root) > 0 || contains_infinity(expr, root))
    return std::nullopt;
  EvalContext context;
  const Value value = evaluate(expr, root, context);
  if (!value.defined || !value.exact) return std::nullopt;
  return value.exact;
}

}  // namespace aha::rewards::math
