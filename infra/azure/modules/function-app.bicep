param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity: identity-based connections name it so the host picks the right one.')
param identityClientId string

@description('Host account (AzureWebJobsStorage): the Functions host\'s blobs, queues and tables.')
param hostBlobEndpoint string
param hostQueueEndpoint string
param hostTableEndpoint string

@description('Inference data account: models, batch files, the shard queues and the triggers\' poison queues.')
param dataBlobEndpoint string
param dataQueueEndpoint string

@description('Container of the host account the platform deploys the app package from.')
param deploymentContainerUrl string
param applicationInsightsConnectionString string

@description('Prefix of the app settings the adapter reads for models and batch files.')
param storageConnectionName string

param warmupModelsSettingName string
param warmupModels string

@description('Setting that tells the app its instance memory, so its model and request budgets fit the instance.')
param instanceMemorySettingName string

@description('Setting the SweepIncoming timer reads its NCRONTAB schedule from (%setting% in the trigger).')
param sweepScheduleSettingName string
param sweepSchedule string

@description('Setting: minutes a file waits under incoming/ before the sweep takes it up.')
param sweepAfterMinutesSettingName string

@minValue(1)
@maxValue(1440)
param sweepAfterMinutes int

@allowed([
  '8.0'
  '9.0'
  '10.0'
])
param runtimeVersion string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@minValue(0)
@maxValue(1000)
param alwaysReadyHttpInstances int

@minValue(0)
@maxValue(1000)
param alwaysReadyBlobInstances int

@description('The queue-triggered shard worker: Flex Consumption scales every function outside the http, blob and durable groups on its own, as the group "function:<name>".')
param shardFunctionName string

@minValue(0)
@maxValue(1000)
param alwaysReadyShardInstances int

@description('Settings: when a file is sharded and how big its shards are. A value of 0 is passed empty, and the app uses its default.')
param shardMinBytesSettingName string

@minValue(0)
param shardMinBytes int

param rowsPerShardSettingName string

@minValue(0)
param rowsPerShard int

param bytesPerShardSettingName string

@minValue(0)
param bytesPerShard int

var alwaysReady = filter(
  [
    { name: 'http', instanceCount: alwaysReadyHttpInstances }
    { name: 'blob', instanceCount: alwaysReadyBlobInstances }
    { name: 'function:${shardFunctionName}', instanceCount: alwaysReadyShardInstances }
  ],
  group => group.instanceCount > 0
)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // Host storage (leases, keys, blob-trigger queue and receipts, diagnostic events) in its own account,
        // through the identity, never a connection string. The three service URIs, because the host uses all three.
        { name: 'AzureWebJobsStorage__blobServiceUri', value: hostBlobEndpoint }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: hostQueueEndpoint }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: hostTableEndpoint }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        // The adapter's named connection, in the data account: models, incoming, outgoing and failed containers.
        { name: '${storageConnectionName}__blobServiceUri', value: dataBlobEndpoint }
        // The shard queues, which ScoreBlob sends to and ScoreShard is triggered by, and the triggers' poison queues.
        { name: '${storageConnectionName}__queueServiceUri', value: dataQueueEndpoint }
        { name: '${storageConnectionName}__credential', value: 'managedidentity' }
        { name: '${storageConnectionName}__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        { name: warmupModelsSettingName, value: warmupModels }
        { name: instanceMemorySettingName, value: string(instanceMemoryMB) }
        { name: sweepScheduleSettingName, value: sweepSchedule }
        { name: sweepAfterMinutesSettingName, value: string(sweepAfterMinutes) }
        { name: shardMinBytesSettingName, value: shardMinBytes > 0 ? string(shardMinBytes) : '' }
        { name: rowsPerShardSettingName, value: rowsPerShard > 0 ? string(rowsPerShard) : '' }
        { name: bytesPerShardSettingName, value: bytesPerShard > 0 ? string(bytesPerShard) : '' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'dotnet-isolated'
        version: runtimeVersion
      }
    }
  }
}

// Deployments go through Entra ID; the legacy publishing user/password stays off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
