// Serverless inference on Azure Functions Flex Consumption: a host storage account and an inference data account,
// one identity, no shared keys, roles scoped to the containers the app uses.
// Names the app reads (containers, queues, connection, function names, settings) must match functions-azure/.../AzureContract.cs;
// tests/Serverless.Infra.Tests fails the build when they drift.

targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Short prefix for resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'infer'

@description('.NET version of the isolated worker.')
@allowed([
  '8.0'
  '9.0'
  '10.0'
])
param runtimeVersion string = '10.0'

@description('Memory of each instance in MB (Flex Consumption sizes).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Instances kept warm for the HTTP functions (0: scale to zero, billed while ready).')
@minValue(0)
@maxValue(1000)
param alwaysReadyHttpInstances int = 0

@description('Instances kept warm for the Event Grid blob trigger (0: scale to zero).')
@minValue(0)
@maxValue(1000)
param alwaysReadyBlobInstances int = 0

@description('Instances kept warm for ScoreShard, the queue-triggered shard worker (0: scale to zero). Flex Consumption scales it in instances of its own, one shard per instance (host.json queues.batchSize 1), up to maximumInstanceCount.')
@minValue(0)
@maxValue(1000)
param alwaysReadyShardInstances int = 0

@description('Files larger than this many bytes are planned into shards and fanned out over the batch-shards queue (0: the app\'s default, 4 MiB).')
@minValue(0)
param shardMinBytes int = 0

@description('The most rows in one shard, unless a model\'s model.json says otherwise (0: the app\'s default, 50,000). Choose it so a shard finishes well inside the 10-minute function timeout.')
@minValue(0)
param rowsPerShard int = 0

@description('The most input bytes in one shard, unless a model\'s model.json says otherwise (0: the app\'s default, 64 MiB).')
@minValue(0)
param bytesPerShard int = 0

@description('Comma-separated model names loaded at start-up, before the first request.')
param warmupModels string = ''

@description('Stage two: create the Event Grid subscription that delivers new incoming blobs. Set only after the code is deployed (see subscribe-blob-events.sh).')
param subscribeBlobEvents bool = false

@description('Optional object id of the user or group that uploads models, drops files and reads dead letters (Storage Blob Data Contributor on the data containers).')
param operatorPrincipalId string = ''

@description('NCRONTAB schedule (six fields, seconds first) of the SweepIncoming timer, which scores files whose event never arrived.')
param sweepSchedule string = '0 */15 * * * *'

@description('Minutes a file must have sat under incoming/ before the sweep takes it up (Event Grid normally delivers within seconds).')
@minValue(1)
@maxValue(1440)
param sweepAfterMinutes int = 15

@description('Event Grid delivery attempts to ScoreBlob before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param eventMaxDeliveryAttempts int = 10

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Model the stream topic\'s events are scored with (the webhook route streams/{model}); needed for stage two of the stream.')
param streamModel string = ''

@description('Stream stage two: create the subscription that pushes the stream topic\'s events to the webhook. Set only after the code is deployed: Event Grid validates the endpoint when it is created.')
param subscribeStreamEvents bool = false

@description('Most events Event Grid delivers to the stream webhook at once.')
@minValue(1)
@maxValue(5000)
param streamMaxEventsPerBatch int = 100

@description('Target size of one stream delivery in KB (Event Grid\'s maximum, 1,024, is what the webhook accepts).')
@minValue(1)
@maxValue(1024)
param streamPreferredBatchSizeInKilobytes int = 256

@description('Event Grid delivery attempts to the stream webhook before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param streamMaxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying a stream event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param streamEventTimeToLiveInMinutes int = 1440

@description('Optional object id of the user, group or service principal that publishes to the stream topic (EventGrid Data Sender; the topic takes Entra tokens only).')
param streamPublisherPrincipalId string = ''

@description('Days Log Analytics keeps telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

param tags object = {}

// The adapter's names (AzureContract.cs).
var storageConnectionName = 'InferenceStorage'
var modelsContainer = 'models'
var incomingContainer = 'incoming'
var outgoingContainer = 'outgoing'
var failedContainer = 'failed'
var deadLetterContainer = 'deadletter'
var captureContainer = 'capture'
var scoreBlobFunction = 'ScoreBlob'
var routePrefix = 'v2'
var warmupModelsSettingName = 'Inference__WarmupModels'
var instanceMemorySettingName = 'Inference__InstanceMemoryMB'
var sweepScheduleSettingName = 'Inference__SweepSchedule'
var sweepAfterMinutesSettingName = 'Inference__SweepAfterMinutes'
var scoreShardFunction = 'ScoreShard'
var shardQueue = 'batch-shards'
var shardPoisonQueue = 'batch-shards-poison'
var shardMinBytesSettingName = 'Inference__ShardMinBytes'
var rowsPerShardSettingName = 'Inference__RowsPerShard'
var bytesPerShardSettingName = 'Inference__BytesPerShard'
var predictionsContainer = 'predictions'
var streamStateContainer = 'stream-state'
var streamEventsContainer = 'stream-events'
var streamAlertsQueue = 'stream-alerts'

// The storage extension's poison queue for blob triggers (in the account of the trigger's connection).
var blobTriggerPoisonQueue = 'webjobs-blobtrigger-poison'

var suffix = uniqueString(subscription().id, resourceGroup().id, namePrefix)
var functionAppName = '${namePrefix}-func-${suffix}'
var deploymentContainer = 'app-package-${take(suffix, 8)}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${namePrefix}-id-${suffix}'
    location: location
    tags: tags
  }
}

// The Functions host's own account: AzureWebJobsStorage and the deployment package, nothing of the user's.
module hostStorage 'modules/storage.bicep' = {
  name: 'host-storage'
  params: {
    name: take('${namePrefix}host${suffix}', 24)
    location: location
    tags: tags
    containers: [
      deploymentContainer
    ]
  }
}

// Models, batch files, dead-lettered events and the shard queues; the account Event Grid watches.
module dataStorage 'modules/storage.bicep' = {
  name: 'data-storage'
  params: {
    name: take('${namePrefix}st${suffix}', 24)
    location: location
    tags: tags
    containers: [
      modelsContainer
      incomingContainer
      outgoingContainer
      failedContainer
      deadLetterContainer
      predictionsContainer
      streamStateContainer
      streamEventsContainer
      captureContainer
    ]
    queues: [
      blobTriggerPoisonQueue
      shardQueue
      shardPoisonQueue
      streamAlertsQueue
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${namePrefix}-log-${suffix}'
    applicationInsightsName: '${namePrefix}-appi-${suffix}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module blobEventsTopic 'modules/blob-events-topic.bicep' = {
  name: 'blob-events-topic'
  params: {
    name: '${namePrefix}-evgt-${suffix}'
    location: location
    tags: tags
    storageAccountId: dataStorage.outputs.id
  }
}

module streamTopic 'modules/stream-topic.bicep' = {
  name: 'stream-topic'
  params: {
    name: '${namePrefix}-evgt-stream-${suffix}'
    location: location
    tags: tags
  }
}

module streamLedgerRetention 'modules/stream-ledger-retention.bicep' = {
  name: 'stream-ledger-retention'
  params: {
    storageAccountName: dataStorage.outputs.name
    containerName: streamEventsContainer
    retentionDays: 2
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    hostStorageAccountName: hostStorage.outputs.name
    dataStorageAccountName: dataStorage.outputs.name
    modelsContainerName: modelsContainer
    incomingContainerName: incomingContainer
    outgoingContainerName: outgoingContainer
    failedContainerName: failedContainer
    deadLetterContainerName: deadLetterContainer
    captureContainerName: captureContainer
    poisonQueueName: blobTriggerPoisonQueue
    shardQueueName: shardQueue
    shardPoisonQueueName: shardPoisonQueue
    applicationInsightsName: monitoring.outputs.name
    appPrincipalId: identity.outputs.principalId
    eventGridPrincipalId: blobEventsTopic.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    predictionsContainerName: predictionsContainer
    streamStateContainerName: streamStateContainer
    streamEventsContainerName: streamEventsContainer
    streamAlertsQueueName: streamAlertsQueue
    streamTopicName: streamTopic.outputs.name
    streamTopicPrincipalId: streamTopic.outputs.principalId
    streamPublisherPrincipalId: streamPublisherPrincipalId
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  // The host reaches storage with the identity as soon as it starts.
  dependsOn: [
    roleAssignments
  ]
  params: {
    name: functionAppName
    planName: '${namePrefix}-plan-${suffix}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    hostQueueEndpoint: hostStorage.outputs.queueEndpoint
    hostTableEndpoint: hostStorage.outputs.tableEndpoint
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    dataQueueEndpoint: dataStorage.outputs.queueEndpoint
    deploymentContainerUrl: '${hostStorage.outputs.blobEndpoint}${deploymentContainer}'
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    storageConnectionName: storageConnectionName
    warmupModelsSettingName: warmupModelsSettingName
    warmupModels: warmupModels
    instanceMemorySettingName: instanceMemorySettingName
    sweepScheduleSettingName: sweepScheduleSettingName
    sweepSchedule: sweepSchedule
    sweepAfterMinutesSettingName: sweepAfterMinutesSettingName
    sweepAfterMinutes: sweepAfterMinutes
    runtimeVersion: runtimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    alwaysReadyBlobInstances: alwaysReadyBlobInstances
    shardFunctionName: scoreShardFunction
    alwaysReadyShardInstances: alwaysReadyShardInstances
    shardMinBytesSettingName: shardMinBytesSettingName
    shardMinBytes: shardMinBytes
    rowsPerShardSettingName: rowsPerShardSettingName
    rowsPerShard: rowsPerShard
    bytesPerShardSettingName: bytesPerShardSettingName
    bytesPerShard: bytesPerShard
  }
}

module blobEventsSubscription 'modules/blob-events-subscription.bicep' = if (subscribeBlobEvents) {
  name: 'blob-events-subscription'
  params: {
    systemTopicName: blobEventsTopic.outputs.name
    functionAppName: functionApp.outputs.name
    functionName: scoreBlobFunction
    containerName: incomingContainer
    deadLetterStorageAccountId: dataStorage.outputs.id
    deadLetterContainerName: deadLetterContainer
    maxDeliveryAttempts: eventMaxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

module streamSubscription 'modules/stream-subscription.bicep' = if (subscribeStreamEvents) {
  name: 'stream-subscription'
  params: {
    topicName: streamTopic.outputs.name
    functionAppName: functionApp.outputs.name
    routePrefix: routePrefix
    model: streamModel
    deadLetterStorageAccountId: dataStorage.outputs.id
    deadLetterContainerName: deadLetterContainer
    maxEventsPerBatch: streamMaxEventsPerBatch
    preferredBatchSizeInKilobytes: streamPreferredBatchSizeInKilobytes
    maxDeliveryAttempts: streamMaxDeliveryAttempts
    eventTimeToLiveInMinutes: streamEventTimeToLiveInMinutes
  }
}

output functionAppName string = functionApp.outputs.name
output inferenceBaseUrl string = 'https://${functionApp.outputs.defaultHostName}/${routePrefix}'
// The data account: where models are uploaded and batch files dropped.
output storageAccountName string = dataStorage.outputs.name
output blobEndpoint string = dataStorage.outputs.blobEndpoint
output hostStorageAccountName string = hostStorage.outputs.name
output deploymentContainer string = deploymentContainer
output identityClientId string = identity.outputs.clientId
output blobEventsSubscribed bool = subscribeBlobEvents
// Where publishers send the stream's CloudEvents (with an Entra token for https://eventgrid.azure.net/).
output streamTopicEndpoint string = streamTopic.outputs.endpoint
output streamEventsSubscribed bool = subscribeStreamEvents
