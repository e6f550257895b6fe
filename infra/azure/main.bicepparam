using 'main.bicep'

param namePrefix = 'infer'
param runtimeVersion = '10.0'
param instanceMemoryMB = 2048
param maximumInstanceCount = 100
param alwaysReadyHttpInstances = 0
param alwaysReadyBlobInstances = 0
param alwaysReadyShardInstances = 0
param shardMinBytes = 0
param rowsPerShard = 0
param bytesPerShard = 0
param warmupModels = ''
param subscribeBlobEvents = false
param sweepSchedule = '0 */15 * * * *'
param sweepAfterMinutes = 15
param eventMaxDeliveryAttempts = 10
param eventTimeToLiveInMinutes = 1440
