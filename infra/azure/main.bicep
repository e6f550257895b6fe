// Serverless inference on Azure Functions Flex Consumption: one storage account, one identity, no shared keys.
// Names the app reads (containers, connection, function name) must match functions-azure/.../AzureContract.cs;
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

@description('Comma-separated model names loaded at start-up, before the first request.')
param warmupModels string = ''

@description('Stage two: create the Event Grid subscription that delivers new incoming blobs. Set only after the code is deployed (see subscribe-blob-events.sh).')
param subscribeBlobEvents bool = false

@description('Optional object id of the user or group that uploads models and drops files (Storage Blob Data Contributor).')
param operatorPrincipalId string = ''

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
var scoreBlobFunction = 'ScoreBlob'
var routePrefix = 'v2'
var warmupModelsSettingName = 'Inference__WarmupModels'

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

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('${namePrefix}st${suffix}', 24)
    location: location
    tags: tags
    dataContainers: [
      modelsContainer
      incomingContainer
      outgoingContainer
      failedContainer
    ]
    deploymentContainer: deploymentContainer
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

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.name
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
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
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    storageConnectionName: storageConnectionName
    warmupModelsSettingName: warmupModelsSettingName
    warmupModels: warmupModels
    runtimeVersion: runtimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    alwaysReadyBlobInstances: alwaysReadyBlobInstances
  }
}

module blobEventsTopic 'modules/blob-events-topic.bicep' = {
  name: 'blob-events-topic'
  params: {
    name: '${namePrefix}-evgt-${suffix}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

module blobEventsSubscription 'modules/blob-events-subscription.bicep' = if (subscribeBlobEvents) {
  name: 'blob-events-subscription'
  params: {
    systemTopicName: blobEventsTopic.outputs.name
    functionAppName: functionApp.outputs.name
    functionName: scoreBlobFunction
    containerName: incomingContainer
  }
}

output functionAppName string = functionApp.outputs.name
output inferenceBaseUrl string = 'https://${functionApp.outputs.defaultHostName}/${routePrefix}'
output storageAccountName string = storage.outputs.name
output blobEndpoint string = storage.outputs.blobEndpoint
output deploymentContainer string = deploymentContainer
output identityClientId string = identity.outputs.clientId
output blobEventsSubscribed bool = subscribeBlobEvents
