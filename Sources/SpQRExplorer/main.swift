import SpQRCore
print("spqr-explorer")
