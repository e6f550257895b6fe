// Second stage: run only after the app's code is deployed. The webhook needs the host's blobs_extension
// system key, which the Functions host creates when it first starts with a blob trigger, and Event Grid
// validates the endpoint when the subscription is created.

param systemTopicName string
param functionAppName string

@description('Name of the function with the Event Grid-source blob trigger.')
param functionName string

@description('Container whose new blobs are delivered.')
param containerName string

@description('Resource id of the storage account that holds the dead-letter container.')
param deadLetterStorageAccountId string

@description('Container that receives events Event Grid gave up on.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// Read at deployment time, never stored in the template or its outputs.
var blobsExtensionKey = listKeys('${site.id}/host/default', '2024-04-01').systemKeys.blobs_extension

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'score-${containerName}-blobs'
  properties: {
    // A webhook authenticates with the key in its URL: delivery with a managed identity (deliveryWithResourceIdentity)
    // exists only for Azure-resource destinations (queues, Event Hubs, Service Bus), so delivery stays a plain destination.
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/'
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // Undeliverable events are kept, written with the topic's own identity (no account key exists to do it otherwise).
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = subscription.name
