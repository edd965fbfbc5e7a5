module gohang.test/dumptarget

go 1.21
