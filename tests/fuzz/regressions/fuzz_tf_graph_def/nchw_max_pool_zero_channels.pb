
D
PlaceholderPlaceholder*
dtype0*
shape:
{
MaxPoolMaxPoolPlaceholder*
data_formatNCHW*
strides
*
ksize
*
paddingVALID*
T0"