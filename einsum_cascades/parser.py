"""Parse one extended-Einsum line into a `ParsedEinsum`; every failure is a `CascadeError` with a column.

Grammar (one Einsum per line; `#` starts a comment):

    line       := ref '=' expr [ '::' reduction (',' reduction)* ] [ 'where' pred [ 'else' value ] ]
                | NAME '[' 0 and rank names ']' '=' value          (initial value: RM[0,p] = -inf)
    reduction  := ('+' | 'sum' | 'max' | 'min') '(' rank (',' rank)* ')'
    expr       := term (('+' | '-') term)*        term := unary (('*' | '/') unary)*
    unary      := '-' unary | NUMBER | 'inf' | ref | NAME '(' expr (',' expr)* ')' | '(' expr ')'
    ref        := NAME '[' [ index (',' index)* ] ']'     index := NAME [('+'|'-') INT] | INT
    pred       := comparison ('and' comparison)*          comparison := linear ('<'|'<='|'>'|'>=') linear
    linear     := ['-'] atom (('+'|'-') atom)*            atom := NAME | INT

Ranks on the right that are absent on the left are reduced with `+` unless a reduction names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from einsum_cascades.errors import CascadeError
from einsum_cascades.expr import (
    FUNCTIONS,
    BinOp,
    Call,
    Comparison,
    Const,
    Expr,
    Index,
    ParsedEinsum,
    ParsedInitial,
    Reduction,
    Ref,
)

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>::|<=|>=|==|[-+*/()\[\],=<>]))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # number | name | op | end
    text: str
    column: int  # 1-based


def tokenize(text: str, source: str | None = None, line: int | None = None) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise CascadeError(f"unexpected character {text[col - 1]!r}; expected a name, number or operator",
                               source=source, line=line, column=col)
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    tokens.append(Token("end", "end of line", len(text.rstrip()) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, source: str | None, line: int | None) -> None:
        self.text, self.source, self.line = text, source, line
        self.tokens = tokenize(text, source, line)
        self.pos = 0

    # -- helpers -----------------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, expected: str, token: Token | None = None) -> CascadeError:
        token = token or self.tok
        found = "end of line" if token.kind == "end" else repr(token.text)
        return CascadeError(f"found {found}, expected {expected}", source=self.source, line=self.line,
                            column=token.column)

    def accept(self, text: str) -> bool:
        if self.tok.kind in ("op", "name") and self.tok.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str, expected: str | None = None) -> Token:
        token = self.tok
        if not self.accept(text):
            raise self.fail(expected or repr(text))
        return token

    def name(self, expected: str) -> Token:
        token = self.tok
        if token.kind != "name":
            raise self.fail(expected)
        self.pos += 1
        return token

    # -- grammar -----------------------------------------------------------------------------------------
    def einsum(self) -> ParsedEinsum | ParsedInitial:
        output = self.ref(self.name("the output tensor name, e.g. 'QK[m,p] = ...'"))
        self.expect("=", "'=' after the output tensor")
        if any(i.var is None for i in output.indices):
            return self.initial(output)
        expr = self.expr()
        reductions: list[Reduction] = []
        if self.accept("::"):
            reductions.extend(self.reduction())
            while self.accept(","):
                reductions.extend(self.reduction())
        mask: tuple[Comparison, ...] = ()
        fill = None
        if self.accept("where"):
            mask = self.predicate()
            if self.accept("else"):
                fill = self.signed_number("a fill value after 'else', e.g. '-inf' or '0'")
        if self.tok.kind != "end":
            raise self.fail("'::' reductions, 'where' mask, or the end of the line")
        return ParsedEinsum(output, expr, tuple(reductions), mask, fill, self.text.rstrip(), self.line)

    def initial(self, output: Ref) -> ParsedInitial:
        """`RM[0,p] = -inf`: the first step of an iterative tensor (index 0 on its iterative rank)."""
        if sum(i.var is None for i in output.indices) != 1 or any(i.const not in (None, "0") for i in output.indices):
            raise self.fail("rank names in the output indices, or exactly one index 0 for an initial value "
                            "such as 'RM[0,p] = -inf'", self.tokens[0])
        value = self.signed_number("a number or -inf as the initial value, e.g. 'RM[0,p] = -inf'")
        if self.tok.kind != "end":
            raise self.fail("the end of the line after an initial value")
        return ParsedInitial(output, value, self.text.rstrip(), self.line)

    def reduction(self) -> list[Reduction]:
        token = self.tok
        if token.text == "sum":
            token = Token(token.kind, "+", token.column)
        if token.text not in ("+", "max", "min"):
            raise self.fail("a reduction: '+(rank)', 'sum(rank)', 'max(rank)' or 'min(rank)'")
        self.pos += 1
        self.expect("(", "'(' and the reduced rank names")
        ranks = [self.name("a rank name").text]
        while self.accept(","):
            ranks.append(self.name("a rank name").text)
        self.expect(")", "')' closing the reduction")
        return [Reduction(rank, token.text) for rank in ranks]

    def expr(self) -> Expr:
        node = self.term()
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = self.tokens[self.pos].text
            self.pos += 1
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.tok.text in ("*", "/") and self.tok.kind == "op":
            op = self.tokens[self.pos].text
            self.pos += 1
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        token = self.tok
        if self.accept("-"):
            operand = self.unary()
            return Const(-operand.value) if isinstance(operand, Const) else Call("neg", (operand,))
        if token.kind == "number":
            self.pos += 1
            return Const(float(token.text))
        if self.accept("("):
            node = self.expr()
            self.expect(")", "')' closing the parenthesis")
            return node
        if token.kind == "name":
            if token.text == "inf":
                self.pos += 1
                return Const(float("inf"))
            self.pos += 1
            if self.tok.text == "[":
                return self.ref(token)
            if self.tok.text == "(":
                return self.call(token)
            raise self.fail(f"'[' after tensor {token.text!r} or '(' after function {token.text!r}")
        raise self.fail("a tensor like 'Q[e,p]', a number, a function call or '('")

    def call(self, fn: Token) -> Call:
        if fn.text not in FUNCTIONS:
            raise CascadeError(f"unknown function {fn.text!r}; known functions: {', '.join(sorted(FUNCTIONS))}",
                               source=self.source, line=self.line, column=fn.column)
        self.expect("(")
        args = [self.expr()]
        while self.accept(","):
            args.append(self.expr())
        self.expect(")", "')' closing the call")
        if len(args) != FUNCTIONS[fn.text]:
            raise CascadeError(f"function {fn.text!r} takes {FUNCTIONS[fn.text]} argument(s), found {len(args)}",
                               source=self.source, line=self.line, column=fn.column)
        return Call(fn.text, tuple(args))

    def ref(self, name: Token) -> Ref:
        self.expect("[", f"'[' and the indices of {name.text!r}")
        indices: list[Index] = []
        if not self.accept("]"):
            indices.append(self.index())
            while self.accept(","):
                indices.append(self.index())
            self.expect("]", "',' or ']' in the index list")
        return Ref(name.text, tuple(indices))

    def index(self) -> Index:
        token = self.tok
        if token.kind == "number" and token.text.isdigit():
            self.pos += 1
            return Index(const=token.text)
        base = self.name("a rank name, a size symbol or an integer as index")
        offset = 0
        if self.tok.text in ("+", "-"):
            sign = 1 if self.tok.text == "+" else -1
            self.pos += 1
            num = self.tok
            if num.kind != "number" or not num.text.isdigit():
                raise self.fail("an integer offset, e.g. 'm1+1'")
            self.pos += 1
            offset = sign * int(num.text)
        if base.text[0].isupper():
            const = base.text if offset == 0 else f"{base.text}{offset:+d}"
            return Index(const=const)
        return Index(var=base.text, offset=offset)

    def predicate(self) -> tuple[Comparison, ...]:
        comparisons = [self.comparison()]
        while self.accept("and"):
            comparisons.append(self.comparison())
        return tuple(comparisons)

    def comparison(self) -> Comparison:
        left = self.linear()
        op = self.tok.text
        if self.tok.kind != "op" or op not in ("<", "<=", ">", ">="):
            raise self.fail("a comparison '<', '<=', '>' or '>='")
        self.pos += 1
        return Comparison(left, op, self.linear())

    def linear(self) -> tuple[tuple[int, str], ...]:
        sign = -1 if self.accept("-") else 1
        terms = [(sign, self.linear_atom())]
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            sign = 1 if self.tok.text == "+" else -1
            self.pos += 1
            terms.append((sign, self.linear_atom()))
        return tuple(terms)

    def linear_atom(self) -> str:
        token = self.tok
        if token.kind == "name" or (token.kind == "number" and token.text.isdigit()):
            self.pos += 1
            return token.text
        raise self.fail("a rank name, a size symbol or an integer in the mask")

    def signed_number(self, expected: str) -> float:
        sign = -1.0 if self.accept("-") else 1.0
        token = self.tok
        if token.kind == "number":
            self.pos += 1
            return sign * float(token.text)
        if token.text == "inf":
            self.pos += 1
            return sign * float("inf")
        raise self.fail(expected)


def parse_einsum(text: str, source: str | None = None, line: int | None = None) -> ParsedEinsum | ParsedInitial:
    """Parse one Einsum line (comments already removed or not); raises `CascadeError` naming the column."""
    code = text.split("#", 1)[0]
    if not code.strip():
        raise CascadeError("empty Einsum; expected e.g. 'QK[m,p] = Q[e,p] * K[e,m]'", source=source, line=line)
    _check_size(code, source, line)
    return _Parser(code, source, line).einsum()


#: Limits on one Einsum line: far beyond any attention algorithm, well inside Python's recursion limit.
MAX_NESTING, MAX_OPERATORS = 32, 128


def _check_size(code: str, source: str | None, line: int | None) -> None:
    """Refuse an Einsum too deeply nested or too long to analyse (a cascade is many short Einsums)."""
    depth = deepest = 0
    for ch in code:
        depth += ch == "("
        depth -= ch == ")"
        deepest = max(deepest, depth)
    operators = sum(code.count(op) for op in "+-*/") + code.count("max(") + code.count("min(")
    if deepest > MAX_NESTING:
        raise CascadeError(f"expression nested {deepest} parentheses deep (at most {MAX_NESTING}); split it into "
                           "several Einsums", source=source, line=line)
    if operators > MAX_OPERATORS:
        raise CascadeError(f"expression has {operators} operators (at most {MAX_OPERATORS}); split it into several "
                           "Einsums with intermediate tensors", source=source, line=line)
