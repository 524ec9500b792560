module example.com/nomicsample

go 1.21
