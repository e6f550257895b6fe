// The stream's Event Grid custom topic: publishers send CloudEvents 1.0 to it, and its subscription
// (stream-subscription.bicep) pushes them in batches to the app's streams/{model} webhook.

param name string
param location string
param tags object

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  // Writes events it could not deliver to the dead-letter container (deadLetterWithResourceIdentity): no keys.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    // Publishers authenticate with Entra ID (the EventGrid Data Sender role, role-assignments.bicep): no access keys
    // or SAS tokens exist to leak. Every Event Grid SDK and the REST API take an Entra token.
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
output endpoint string = topic.properties.endpoint
