// Every role assignment of the deployment, in one place, so a review sees the whole grant.
//
// Host account (AzureWebJobsStorage, deployment package): what the Functions host needs, account-wide, because
// the host names its own containers and queues at run time (azure-webjobs-hosts, azure-webjobs-secrets,
// azure-webjobs-blobtrigger-<host id>). It holds no inference data.
// Data account: one role per container, the narrowest that lets the app do its job.

param hostStorageAccountName string
param dataStorageAccountName string
param modelsContainerName string
param incomingContainerName string
param outgoingContainerName string
param failedContainerName string
param deadLetterContainerName string

@description('Prediction capture objects: the app creates them and may do nothing else there.')
param captureContainerName string

@description('The queue the blob trigger writes poison messages to, in the account of its connection (the data account).')
param poisonQueueName string

@description('The queue of shard messages: ScoreBlob sends to it, ScoreShard is triggered by it.')
param shardQueueName string

@description('Where the queue trigger moves a shard message it gave up on, and ScoreShard puts messages that are not shard messages.')
param shardPoisonQueueName string

param applicationInsightsName string

@description('The stream webhook\'s predictions, per-key state and delivery records, one container each.')
param predictionsContainerName string
param streamStateContainerName string
param streamEventsContainerName string

@description('The queue the stream webhook sends alerts to.')
param streamAlertsQueueName string

@description('The stream\'s Event Grid custom topic and its system-assigned identity (writes dead-lettered events).')
param streamTopicName string
param streamTopicPrincipalId string

@description('Optional: object id of whoever publishes to the stream topic. Empty: no grant.')
param streamPublisherPrincipalId string

@description('Principal (object) id of the function app identity.')
param appPrincipalId string

@description('Principal id of the Event Grid system topic\'s system-assigned identity (writes dead-lettered events).')
param eventGridPrincipalId string

@description('Optional: object id of a user or group that uploads models and drops batch files. Empty: no grant.')
param operatorPrincipalId string

var roles = {
  // AzureWebJobsStorage with an identity: host locks and leases (timer triggers, singletons), keys, blob-trigger
  // receipts and the deployment package. Documented as the host's minimum; it also creates its containers.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Host account: the Event Grid blob trigger's webhook puts each event on the host queue
  // azure-webjobs-blobtrigger-<host id>, which the host then dequeues. Data account: the poison queue and the
  // shard queues, each scoped to its queue.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Host account only: the host persists diagnostic events in tables of AzureWebJobsStorage.
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // models: list and read, never write.
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  // incoming (read, delete after the move to failed), outgoing (also what lets Put Block From URL read a shard's
  // part as its copy source, with the app's token), failed; the topic's dead letters; the operator.
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Entra-authenticated telemetry (Application Insights has local auth disabled).
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // The stream alerts queue: the app only sends; whoever acts on the alerts reads them with a role of its own.
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  // The stream topic takes Entra tokens only: publishing is this role.
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
}

// The operator uploads models, drops and collects batch files and reads dead-lettered events.
var operatorContainers = [
  modelsContainerName
  incomingContainerName
  outgoingContainerName
  failedContainerName
  deadLetterContainerName
  predictionsContainerName
]

resource hostStorage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: hostStorageAccountName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: dataStorageAccountName
}

resource dataBlobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' existing = {
  parent: dataStorage
  name: 'default'
}

resource modelsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: modelsContainerName
}

resource incomingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: incomingContainerName
}

resource outgoingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: outgoingContainerName
}

resource failedContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: failedContainerName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: deadLetterContainerName
}

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: captureContainerName
}

// No built-in role only creates blobs: every data role that writes also reads, lists and deletes. The app writes
// capture objects create-only (If-None-Match: *) and never reads them back, so it gets exactly that.
resource captureWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'capture-blob-writer')
  properties: {
    roleName: 'Inference capture writer (${guid(resourceGroup().id)})'
    description: 'Creates blobs in the prediction capture container; cannot read, list or delete them.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource operatorScopes 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = [
  for container in operatorContainers: {
    parent: dataBlobService
    name: container
  }
]

resource dataQueueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' existing = {
  parent: dataStorage
  name: 'default'
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = {
  parent: dataQueueService
  name: poisonQueueName
}

resource shardQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = {
  parent: dataQueueService
  name: shardQueueName
}

resource shardPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = {
  parent: dataQueueService
  name: shardPoisonQueueName
}

resource predictionsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: predictionsContainerName
}

resource streamStateContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: streamStateContainerName
}

resource streamEventsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: dataBlobService
  name: streamEventsContainerName
}

resource streamAlertsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = {
  parent: dataQueueService
  name: streamAlertsQueueName
}

resource streamTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: streamTopicName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host account.

resource appHostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource appHostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, appPrincipalId, roles.storageQueueDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource appHostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, appPrincipalId, roles.storageTableDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Data account, container by container.

resource appModelsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: modelsContainer
  name: guid(modelsContainer.id, appPrincipalId, roles.storageBlobDataReader)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
}

// Contributor, not Reader: the batch runner deletes an input once it has been copied to failed/.
resource appIncomingContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: incomingContainer
  name: guid(incomingContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource appOutgoingContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: outgoingContainer
  name: guid(outgoingContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource appFailedContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: failedContainer
  name: guid(failedContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource appCaptureWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: captureContainer
  name: guid(captureContainer.id, appPrincipalId, captureWriterRole.id)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: captureWriterRole.id
  }
}

// One queue, not the account: the poison queue is created by the template, so the trigger's create-if-missing
// finds it and only adds messages.
resource appPoisonQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: poisonQueue
  name: guid(poisonQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// The shard queues, one grant each, no other queue. Contributor is the narrowest built-in role that lets the queue
// trigger work: besides receive and delete (Message Processor) and send (Message Sender) it updates messages
// (messages/write), which the host does to keep a long shard's message invisible while it runs and to delay a failed
// one's retry; and the host creates the poison queue if it is missing before it moves a message there
// (queues/write). Scoped to one queue, its extra rights (that queue's metadata) reach nothing else.
resource appShardQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: shardQueue
  name: guid(shardQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource appShardPoisonQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: shardPoisonQueue
  name: guid(shardPoisonQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource eventGridDeadLetterContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, eventGridPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: eventGridPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// The stream webhook: predictions written create-only (and read back to tell a retry from new work), per-key state
// (create-only generations, read and pruned), and the delivery records of committed event ids.
resource appPredictionsContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: predictionsContainer
  name: guid(predictionsContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource appStreamStateContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: streamStateContainer
  name: guid(streamStateContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource appStreamEventsContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: streamEventsContainer
  name: guid(streamEventsContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// Send only: the template creates the queue, so the sender never needs to create it.
resource appStreamAlertsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: streamAlertsQueue
  name: guid(streamAlertsQueue.id, appPrincipalId, roles.storageQueueDataMessageSender)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
  }
}

resource streamTopicDeadLetterContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, streamTopicPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: streamTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource streamPublisherSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(streamPublisherPrincipalId)) {
  scope: streamTopic
  name: guid(streamTopic.id, streamPublisherPrincipalId, roles.eventGridDataSender)
  properties: {
    principalId: streamPublisherPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
  }
}

resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: applicationInsights
  name: guid(applicationInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource operatorBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, index) in operatorContainers: if (!empty(operatorPrincipalId)) {
    scope: operatorScopes[index]
    name: guid(operatorScopes[index].id, operatorPrincipalId, roles.storageBlobDataContributor)
    properties: {
      principalId: operatorPrincipalId
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    }
  }
]
