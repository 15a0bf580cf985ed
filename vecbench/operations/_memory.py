"""Cache hints for Numba kernels: software prefetch and streaming (non-temporal) stores.

Numba exposes neither, so both are LLVM intrinsics here.

- :func:`prefetch` (``llvm.prefetch``): memory-bound streaming loops (``dot``
  above all) reach NumPy/OpenBLAS speed only when the next cache lines are
  requested early. A prefetch never faults, but kernels only ever pass
  in-bounds indices anyway.
- :func:`scale_store_stream4` writes four products with a non-temporal store:
  the line goes to memory without first being read into the cache (a normal
  store reads every output line before overwriting it, a third memory
  transfer per element of a copy-like kernel) and without evicting the
  input. Worth it only for outputs much larger than the caches; callers pick
  it by size. Stores are weakly ordered, so a kernel ends its streaming with
  :func:`store_fence`.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch", "scale_store_stream4", "aligned_offset", "store_fence"]


def _item_pointer(context, builder, aryty, aryval, index):
    ary = context.make_array(aryty)(context, builder, aryval)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [index], wraparound=False, boundscheck=False)


def _is_vector(arr) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 1


@intrinsic
def prefetch(typingctx, arr, index):
    """Hint that ``arr[index]`` (1-D) will be read soon; keep it in all cache levels."""
    if not _is_vector(arr) or not isinstance(index, types.Integer):
        return None
    sig = types.void(arr, index)

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        # declare_intrinsic mangles the name for this LLVM's pointer type (p0 / p0i8).
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # rw = 0 (read), locality = 3 (keep in all levels), cache type = 1 (data)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


LANES = 4  # elements per streaming store


def _llvm_float(dtype):
    return ir.DoubleType() if dtype == types.float64 else ir.FloatType()


@intrinsic
def scale_store_stream4(typingctx, dst, src, r, j):
    """``dst[j:j+4] = src[j:j+4] * r[j:j+4]`` with a non-temporal store.

    ``dst``, ``src`` and ``r`` must be contiguous: ``dst`` and ``src`` of one float dtype, ``r``
    is float64 (the product is formed in float64, as the plain loop does),
    all with at least ``j + 4`` elements, and ``&dst[j]`` is aligned to four
    elements (:func:`aligned_offset`); the caller guarantees both.
    """
    floats = (types.float32, types.float64)
    # Any layout types (Numba compiles the branch a strided array never takes);
    # callers only take this path for contiguous arrays.
    if not all(_is_vector(a) for a in (dst, src, r)) or not isinstance(j, types.Integer):
        return None
    if dst.dtype not in floats or src.dtype != dst.dtype or r.dtype != types.float64:
        return None
    sig = types.void(dst, src, r, j)

    def codegen(context, builder, signature, args):
        dst_t, src_t, r_t = signature.args[:3]
        item = _llvm_float(dst_t.dtype)
        vec, vec64 = ir.VectorType(item, LANES), ir.VectorType(ir.DoubleType(), LANES)

        def pointer(ty, val, vty):
            return builder.bitcast(_item_pointer(context, builder, ty, val, args[3]), vty.as_pointer())

        x = builder.load(pointer(src_t, args[1], vec), align=1)
        if item != ir.DoubleType():
            x = builder.fpext(x, vec64)
        product = builder.fmul(x, builder.load(pointer(r_t, args[2], vec64), align=1))
        if item != ir.DoubleType():
            product = builder.fptrunc(product, vec)
        align = LANES * context.get_abi_sizeof(item)
        store = builder.store(product, pointer(dst_t, args[0], vec), align=align)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def aligned_offset(typingctx, arr):
    """Index of the first element of the 1-D ``arr`` aligned for :func:`scale_store_stream4`.

    Returns -1 when no element is (an array whose data is not even aligned to
    its item size, e.g. from ``np.frombuffer`` at an odd offset).
    """
    if not _is_vector(arr) or arr.dtype not in (types.float32, types.float64):
        return None
    sig = types.intp(arr)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        i64 = ir.IntType(64)
        item = context.get_abi_sizeof(_llvm_float(aryty.dtype))
        zero = context.get_constant(types.intp, 0)
        addr = builder.ptrtoint(_item_pointer(context, builder, aryty, args[0], zero), i64)
        gap = builder.and_(builder.sub(ir.Constant(i64, 0), addr), ir.Constant(i64, LANES * item - 1))
        ok = builder.icmp_unsigned("==", builder.urem(gap, ir.Constant(i64, item)), ir.Constant(i64, 0))
        return builder.select(ok, builder.udiv(gap, ir.Constant(i64, item)), ir.Constant(i64, -1))

    return sig, codegen


@intrinsic
def store_fence(typingctx):
    """Order earlier non-temporal stores before anything later (another thread reading ``dst``)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")  # mfence on x86: also orders weakly-ordered streaming stores
        return context.get_dummy_value()

    return sig, codegen
