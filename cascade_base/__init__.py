"""The small shared base below every package of cascade: one error type, one pydantic base and error formatter,
safe YAML reading, and one catalog that resolves "a built-in name or a path".

`einsum_cascades`, `hw`, `mappers` and `simulator` may import this package; it imports none of them.
"""

from cascade_base.errors import InputError

__all__ = ["InputError"]
