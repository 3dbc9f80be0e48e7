"""The expression tree of one extended Einsum (FuseMax / TeAAL notation), as immutable values.

`QK[m,p] = Q[e,p] * K[e,m]` parses to an `Einsum` whose right-hand side is `BinOp('*', Ref(Q..), Ref(K..))`.
Index positions hold an `Index`: a rank variable with an offset (`m1+1`), or a constant expression of the
size symbols (`M1`, the last element of an iterative rank).
"""

from __future__ import annotations

from dataclasses import dataclass

#: map actions between two operands, and the op kind each counts as.
BINARY_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}

#: user functions the executor knows, with their arity (the op kind is the name itself).
FUNCTIONS = {
    "exp": 1, "exp2": 1, "log": 1, "sqrt": 1, "rsqrt": 1, "recip": 1, "relu": 1, "elu1": 1, "sigmoid": 1,
    "silu": 1, "neg": 1, "max": 2, "min": 2,
}

#: reduction operators, their identity element and the op kind they count as.
REDUCTIONS = {"+": (0.0, "add"), "max": (float("-inf"), "max"), "min": (float("inf"), "min")}


@dataclass(frozen=True)
class Index:
    """One index position: `var` + `offset`, or a constant `const` (a sympy-parsable size expression)."""

    var: str | None = None
    offset: int = 0
    const: str | None = None

    def __str__(self) -> str:
        if self.var is None:
            return str(self.const)
        if self.offset:
            return f"{self.var}{self.offset:+d}"
        return self.var


@dataclass(frozen=True)
class Ref:
    """A tensor read or written at the given index positions."""

    tensor: str
    indices: tuple[Index, ...]

    def vars(self) -> tuple[str, ...]:
        return tuple(i.var for i in self.indices if i.var is not None)

    def __str__(self) -> str:
        return f"{self.tensor}[{','.join(map(str, self.indices))}]"


@dataclass(frozen=True)
class Const:
    value: float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Expr, ...]

    def __str__(self) -> str:
        return f"{self.fn}({', '.join(map(str, self.args))})"


Expr = Ref | Const | BinOp | Call


@dataclass(frozen=True)
class Comparison:
    """`left op right`, each side a linear sum of (coefficient, name) terms, names being ranks or sizes."""

    left: tuple[tuple[int, str], ...]
    op: str
    right: tuple[tuple[int, str], ...]

    def __str__(self) -> str:
        def side(terms: tuple[tuple[int, str], ...]) -> str:
            text = " ".join(f"{'+' if c > 0 else '-'} {n}" for c, n in terms).lstrip("+ ")
            return text if not text.startswith("- ") else "-" + text[2:]

        return f"{side(self.left)} {self.op} {side(self.right)}"


@dataclass(frozen=True)
class Reduction:
    rank: str
    op: str


@dataclass(frozen=True)
class ParsedEinsum:
    """One Einsum line as written, before validation against the cascade's ranks and tensors."""

    output: Ref
    expr: Expr
    reductions: tuple[Reduction, ...]
    mask: tuple[Comparison, ...]
    fill: float | None
    text: str
    line: int | None = None


@dataclass(frozen=True)
class ParsedInitial:
    """A populate line giving an iterative tensor its first step, e.g. `RM[0,p] = -inf`."""

    output: Ref
    value: float
    text: str
    line: int | None = None


def refs(expr: Expr) -> list[Ref]:
    """Every tensor reference in `expr`, left to right."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, BinOp):
        return refs(expr.left) + refs(expr.right)
    if isinstance(expr, Call):
        return [r for arg in expr.args for r in refs(arg)]
    return []
