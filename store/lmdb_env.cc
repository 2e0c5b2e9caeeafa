// The translation of MDB_* and errno codes into Errors, and the transaction guard: the
// environment layer every other file of the LMDB store builds on.

#include "duractor/store/detail/lmdb_env.h"

#include <cerrno>
#include <string>

namespace duractor::detail {

Error lmdb_error(int rc, std::string_view what, std::string_view path) {
  std::string message = "store " + std::string(path) + ": " + std::string(what) + ": ";
  switch (rc) {
    case MDB_NOTFOUND:
      return Error::make(ErrorCode::kNotFound, message + "not found");
    case MDB_MAP_FULL:
      return Error::make(ErrorCode::kStoreFull, message + "the store's map is full");
    case MDB_INVALID:
      return Error::make(ErrorCode::kCorrupt,
                         message + "data.mdb is not an LMDB file (or its header is damaged)");
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
      return Error::make(ErrorCode::kCorrupt, message + mdb_strerror(rc));
    case MDB_VERSION_MISMATCH:
      return Error::make(ErrorCode::kUnsupported, message + mdb_strerror(rc));
    case MDB_READERS_FULL:
      return Error::make(ErrorCode::kBusy,
                         message + "too many concurrent readers (LmdbOptions::max_readers)");
    case ENOENT:
      return Error::make(ErrorCode::kNotFound, message + "no such file or directory");
    case EACCES:
    case EPERM: {
      auto e = Error::make(ErrorCode::kIo, message + "permission denied");
      e.retryable = false;
      return e;
    }
    case EROFS: {
      auto e = Error::make(ErrorCode::kIo, message + "read-only file system");
      e.retryable = false;
      return e;
    }
    case ENOSPC:
      return Error::make(ErrorCode::kIo, message + "no space left on device");
    case EFBIG:
      return Error::make(ErrorCode::kIo, message + "file too large (file size limit reached)");
    case EIO:
      // LMDB reports a short write as EIO: the usual causes are a full disk or a file size
      // limit rather than failing hardware.
      return Error::make(ErrorCode::kIo,
                         message +
                             "input/output error (a write failed: the disk may be full, "
                             "a file size limit reached, or the device failing)");
    default:
      return Error::make(ErrorCode::kIo, message + mdb_strerror(rc));
  }
}

TxnGuard::~TxnGuard() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

int TxnGuard::commit() {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  return rc;
}

}  // namespace duractor::detail
